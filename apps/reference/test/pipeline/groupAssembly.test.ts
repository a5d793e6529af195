import { assert, describe, it } from "@effect/vitest"
import type { DroppedRow } from "@sluice/scheduler"
import type { TaskId } from "@sluice/scheduling-resources"
import { Effect } from "effect"
import { DatasetState } from "../../src/output/DatasetState.js"
import { FailureLog } from "../../src/pipeline/dropCauses.js"
import { GroupAssembly } from "../../src/pipeline/groupAssembly.js"
import { datasetRowsOfEvent, planColumns, planRows, RowRanges, rowsPlannedEvent } from "../../src/pipeline/rowPlan.js"

const rowsOf = (ranges: RowRanges) => Array.from({ length: ranges.length }, (_, i) => ranges.datasetRow(i))

const published = (state: DatasetState, group: number, dropped: ReadonlyArray<number>) => {
  state.record(
    { group, file: "f", rows: state.groupSize(group) - dropped.length, bytes: 0, sha256: "", dropped },
    dropped.map((index) => ({ row: group * 4 + index, group, kind: "timeout", message: "t" }))
  )
}

const droppedRow = (row: number, kind: DroppedRow["cause"]["kind"]): DroppedRow => ({
  rowGroup: 0,
  row,
  cause: { kind, message: kind }
})

describe("planRows", () => {
  it("whole groups when nothing is retried; dataset rows when dropped rows are", () => {
    const state = new DatasetState(10, 4)
    published(state, 0, [1, 3])
    assert.deepStrictEqual(planRows(state, false), { _tag: "Groups", rows: 10, skip: new Set([0]) })
    const retry = planRows(state, true)
    assert.strictEqual(retry?._tag, "Rows")
    if (retry?._tag !== "Rows") return
    assert.deepStrictEqual(rowsOf(retry.rows), [1, 3, 4, 5, 6, 7, 8, 9])
    assert.deepStrictEqual([retry.rows.starts, retry.rows.ends], [[1, 3], [2, 10]])
    published(state, 1, [])
    published(state, 2, [])
    assert.strictEqual(planRows(state, false), undefined)
    const dropsOnly = planRows(state, true)
    assert.deepStrictEqual(dropsOnly?._tag === "Rows" ? rowsOf(dropsOnly.rows) : [], [1, 3])
  })

  it("ranges: scheduler rows map to dataset rows, and count what falls in a span", () => {
    const ranges = RowRanges.of([[40, 41], [8, 12], [12, 16], [100, 164], [3, 4]])
    assert.deepStrictEqual([ranges.starts, ranges.ends], [[3, 8, 40, 100], [4, 16, 41, 164]])
    assert.strictEqual(ranges.length, 1 + 8 + 1 + 64)
    assert.deepStrictEqual([0, 1, 8, 9, 10, 73].map((row) => ranges.datasetRow(row)), [3, 8, 15, 40, 100, 163])
    assert.strictEqual(ranges.countIn(0, 16), 9)
    assert.strictEqual(ranges.countIn(10, 41), 7)
    assert.strictEqual(ranges.countIn(16, 40), 0)
    assert.strictEqual(ranges.countIn(150, 200), 14)
  })
})

describe("scheduler events under a Rows plan", () => {
  it("name dataset rows and cell tasks by their dataset row; group-level events and batch tasks keep the run's", () => {
    // Run rows 0..5 are dataset rows 3, 8, 9, 10, 11, 40; groups of 4.
    const toDataset = datasetRowsOfEvent(RowRanges.of([[3, 4], [8, 12], [40, 41]]), 4)
    assert.deepStrictEqual(toDataset({ _tag: "row_dropped", at: 1, rowGroup: 1, row: 5, kind: "timeout" }), {
      _tag: "row_dropped",
      at: 1,
      rowGroup: 10,
      row: 40,
      kind: "timeout",
      runRowGroup: 1,
      runRow: 5
    })
    const completed = {
      _tag: "task_completed",
      at: 2,
      taskId: "cell:0:1:text" as TaskId,
      column: "text",
      outcome: "success",
      rows: 1
    } as const
    assert.deepStrictEqual(toDataset(completed), { ...completed, taskId: "cell:2:0:text", runTaskId: "cell:0:1:text" })
    const batch = { ...completed, taskId: "batch:1:-:score" as TaskId }
    assert.strictEqual(toDataset(batch), batch)
    const admitted = { _tag: "row_group_admitted", at: 3, rowGroup: 1, size: 2 } as const
    assert.strictEqual(toDataset(admitted), admitted)
    assert.deepStrictEqual(rowsPlannedEvent(RowRanges.of([[3, 4], [8, 12]]), 7), {
      _tag: "rows_planned",
      at: 7,
      rows: 5,
      datasetRows: [[3, 4], [8, 12]]
    })
  })
})

describe("GroupAssembly", () => {
  it("under a Rows plan, maps packed rows back to their groups and publishes a group once all its rows are in", () => {
    const state = new DatasetState(10, 4)
    published(state, 0, [1, 3])
    const plan = planRows(state, true)!
    const failures = new FailureLog(4, [])
    failures.record(7, "text", { _tag: "ModelTimeoutError", reason: "slow", message: "Model m failed.\n…" })
    const assembly = new GroupAssembly(plan, state, failures, ["b", "a"])
    // Packed group 0 = dataset rows 1, 3, 4, 5 — row 5 (packed index 3) dropped.
    const first = assembly.onCheckpoint({
      rowGroup: 0,
      firstRow: 0,
      size: 4,
      rowIndexes: [0, 1, 2],
      rows: [{ a: 1, b: 1 }, { a: 3 }, { a: 4 }]
    })
    assert.strictEqual(first.length, 1)
    assert.strictEqual(first[0]!.group, 0)
    assert.deepStrictEqual([...first[0]!.rows], [[1, { b: 1, a: 1 }], [3, { a: 3 }]])
    // Packed group 1 = rows 6, 7, 8, 9: completes group 1 (4, 5, 6, 7) — 7 dropped with the logged failure.
    const second = assembly.onCheckpoint({
      rowGroup: 1,
      firstRow: 4,
      size: 4,
      rowIndexes: [0, 2, 3],
      rows: [{ a: 6 }, { a: 8 }, { a: 9 }]
    })
    assert.deepStrictEqual(second.map((p) => p.group), [1, 2])
    assert.deepStrictEqual([...second[0]!.rows.keys()], [0, 2])
    assert.deepStrictEqual([...second[0]!.dropped.keys()], [1, 3])
    assert.deepStrictEqual(second[0]!.dropped.get(3), {
      row: 7,
      group: 1,
      kind: "timeout",
      column: "text",
      attempts: 1,
      message: "slow"
    })
    assert.strictEqual(second[0]!.dropped.get(1)?.kind, "unknown")
  })

  it("at the end, a group all dropped for a real cause is published; one only stopped is left missing", () => {
    const state = new DatasetState(12, 4)
    const assembly = new GroupAssembly(planRows(state, false)!, state, new FailureLog(4, []), ["a"])
    const recordOf = (dropped: DroppedRow, row: number) => ({
      row,
      group: Math.floor(row / 4),
      kind: dropped.cause.kind,
      message: dropped.cause.message
    })
    const done = assembly.onRunEnd([
      ...[0, 1, 2, 3].map((row) => droppedRow(row, "authentication")),
      ...[4, 5, 6, 7].map((row) => droppedRow(row, "early_shutdown")),
      ...[8, 9].map((row) => droppedRow(row, "early_shutdown"))
    ], recordOf)
    assert.deepStrictEqual(done.map((p) => p.group), [0])
    assert.strictEqual(done[0]!.dropped.size, 4)
  })
})

describe("planColumns", () => {
  it.effect("under a Rows plan, generators see dataset rows; failures are logged by dataset row", () =>
    Effect.gen(function*() {
      const seen: Array<unknown> = []
      const failures = new FailureLog(4, [])
      const [cell, full] = planColumns<never>(
        [
          {
            name: "c",
            strategy: "cell",
            generate: (input) => {
              seen.push([input.row, input.rowGroup, input.rowIndex])
              return Effect.fail({ _tag: "GeneratorError", message: "no" } as never)
            }
          },
          {
            name: "f",
            strategy: "full",
            generate: (input) => {
              seen.push(input.rowIndexes.map((i) => input.firstRow + i))
              return Effect.succeed(input.rowIndexes.map(() => ({})))
            }
          }
        ],
        { _tag: "Rows", rows: RowRanges.of([[1, 2], [3, 4], [6, 7], [9, 10]]) },
        4,
        failures
      )
      if (cell?.strategy !== "cell" || full?.strategy !== "full") throw new Error("unexpected strategies")
      yield* Effect.flip(cell.generate({ rowGroup: 0, rowIndex: 2, row: 2, values: {} }))
      yield* full.generate({ rowGroup: 1, firstRow: 0, rowIndexes: [1, 3], rows: [{}, {}] })
      assert.deepStrictEqual(seen, [[6, 1, 2], [3, 9]])
      assert.strictEqual(failures.take(6, { kind: "x", message: "x" }).kind, "generator_failure")
    }))
})
