import { assert, describe, it } from "@effect/vitest"
import { progressLine } from "../../src/progress/ProgressReporter.js"
import { makeProgressState, progressFromStats, rowsDone } from "../../src/progress/ProgressState.js"

const stats = (cellsCompleted: number, checkpointedRows = 0, rowsDropped = 0) => ({
  cellsCompleted,
  checkpointedRows,
  rowsDropped
})

describe("progress", () => {
  it("a resumed run starts with the resumed rows done and reaches the total; its rate counts only its own rows", () => {
    // 256 rows × 3 columns, two row groups of 64 written by an earlier run.
    const start = makeProgressState(256, (256 - 128) * 3, 128)
    assert.strictEqual(rowsDone(start), 128)
    const half = progressFromStats(start, stats(64 * 3))
    assert.strictEqual(rowsDone(half), 192)
    assert.strictEqual(progressLine(half, 2, []).rate, 32, "64 rows in 2 s, not 192")
    const done = progressFromStats(start, stats(128 * 3, 128))
    assert.strictEqual(rowsDone(done), 256)
    assert.strictEqual(progressLine(done, 4, []).eta, 0)
  })

  it("follows the scheduler's counters: cells written, never behind the checkpointed rows", () => {
    const start = makeProgressState(10, 10 * 2)
    assert.strictEqual(rowsDone(progressFromStats(start, stats(10))), 5, "one of two columns done for all 10 rows")
    // Rows 0–3 checkpointed (one of them dropped) while the rest has written nothing yet.
    const checkpointed = progressFromStats(start, stats(6, 4, 1))
    assert.strictEqual(rowsDone(checkpointed), 4)
    assert.strictEqual(checkpointed.rowsDropped, 1)
  })
})
