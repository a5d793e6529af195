import { assert, describe, it } from "@effect/vitest"
import { progressLine } from "../../src/progress/ProgressReporter.js"
import { makeProgressState, recordSchedulerEvent, rowsDone } from "../../src/progress/ProgressState.js"

const completed = (rows: number) =>
  ({ type: "task_completed", at: 0, taskId: "t" as never, column: "c", outcome: "success", rows }) as const

describe("progress", () => {
  it("a resumed run starts with the resumed rows done and reaches the total; its rate counts only its own rows", () => {
    // 256 rows × 3 columns, two row groups of 64 written by an earlier run.
    const state = makeProgressState(256, (256 - 128) * 3, 128)
    assert.strictEqual(rowsDone(state), 128)
    for (let i = 0; i < 64 * 3; i++) recordSchedulerEvent(state, completed(1))
    assert.strictEqual(rowsDone(state), 192)
    assert.strictEqual(progressLine(state, 2, []).rate, 32, "64 rows in 2 s, not 192")
    recordSchedulerEvent(state, completed(64 * 3))
    assert.strictEqual(rowsDone(state), 256)
    assert.strictEqual(progressLine(state, 4, []).eta, 0)
  })

  it("a full-column task counts every row it wrote", () => {
    const state = makeProgressState(10, 10 * 2)
    recordSchedulerEvent(state, completed(10))
    assert.strictEqual(rowsDone(state), 5, "one of two columns done for all 10 rows")
  })
})
