import { assert, describe, it } from "@effect/vitest"
import { customModelMetadata } from "@sluice/resolver"
import { Effect } from "effect"
import { type BatchInput, type Column, type RowProcessor, SchedulerGeneratorError } from "../src/index.js"
import { runTest } from "./helpers.js"

// Conditional generation: a column's `skip` predicate, and skip propagation to the columns that read a skipped cell.
// Each test names the anchor test (Data Designer's async scheduler tests) it mirrors.

const seed: Column = {
  name: "seed",
  strategy: "full",
  generate: ({ rowIndexes, firstRow }) => Effect.succeed(rowIndexes.map((r) => ({ seed: firstRow + r })))
}

/** A model cell column, recording the dataset rows it was called for. */
const modelCell = (
  name: string,
  requires: ReadonlyArray<string>,
  calls: Array<number>,
  extra: Partial<Column> = {}
): Column => ({
  name,
  strategy: "cell",
  requires,
  scheduling: customModelMetadata("test", name, "v1"),
  generate: ({ row }) =>
    Effect.sleep(5).pipe(Effect.andThen(Effect.sync(() => {
      calls.push(row)
      return { [name]: `${name}-${row}` }
    }))),
  ...extra
} as Column)

const rowsOf = (written: ReadonlyArray<{ readonly rows: ReadonlyArray<Readonly<Record<string, unknown>>> }>) =>
  written.flatMap((c) => c.rows)

describe("conditional generation (skip)", () => {
  // Mirrors test_scheduler_skip_cell_by_cell_with_propagation: `when` skips rows, downstream propagates.
  it.effect("a skipped cell calls no model, is written as null, and skips the cells that read it", () =>
    Effect.gen(function*() {
      const aCalls: Array<number> = []
      const bCalls: Array<number> = []
      const { result, written, events } = yield* runTest({
        rows: 4,
        bufferSize: 4,
        columns: [
          seed,
          modelCell("a", ["seed"], aCalls, { skip: (values) => (values["seed"] as number) % 2 === 1 }),
          modelCell("b", ["a"], bCalls)
        ]
      })
      assert.sameMembers(aCalls, [0, 2])
      assert.sameMembers(bCalls, [0, 2], "propagated: b is skipped where a was")
      assert.deepStrictEqual(rowsOf(written), [
        { seed: 0, a: "a-0", b: "b-0" },
        { seed: 1, a: null, b: null },
        { seed: 2, a: "a-2", b: "b-2" },
        { seed: 3, a: null, b: null }
      ])
      assert.deepStrictEqual(result.outcomes, { success: 5 }, "1 seed task + 2 a + 2 b; skipped cells are no tasks")
      assert.strictEqual(result.cellsSkipped, 4)
      assert.strictEqual(result.rowsCompleted, 4)
      assert.strictEqual(events.filter((e) => e._tag === "cell_skipped").length, 4)
    }))

  // Mirrors test_scheduler_skip_propagates_through_side_effect_dependency: a column reading a secondary output
  // ("side effect") of a skipped generator is skipped too, and every output of the skipped cell is cleared.
  it.effect("skip propagates through any output of a multi-output generator, which is written as null", () =>
    Effect.gen(function*() {
      const reader: Array<number> = []
      const { written } = yield* runTest({
        rows: 2,
        bufferSize: 2,
        columns: [
          seed,
          {
            name: "answer",
            strategy: "cell",
            requires: ["seed"],
            outputs: ["answer", "answer__trace"],
            skip: (values) => values["seed"] === 0,
            generate: () => Effect.succeed({ answer: "yes", answer__trace: "t" })
          },
          modelCell("reader", ["answer__trace"], reader)
        ]
      })
      assert.deepStrictEqual(reader, [1])
      assert.deepStrictEqual(rowsOf(written), [
        { seed: 0, answer: null, answer__trace: null, reader: null },
        { seed: 1, answer: "yes", answer__trace: "t", reader: "reader-1" }
      ])
    }))

  // Mirrors test_scheduler_skip_full_column_batch: only the rows not skipped reach the batch generator.
  it.effect("a full column receives only its rows that are not skipped", () =>
    Effect.gen(function*() {
      const inputs: Array<ReadonlyArray<number>> = []
      const { result, written } = yield* runTest({
        rows: 3,
        bufferSize: 3,
        columns: [seed, {
          name: "batch",
          strategy: "full",
          requires: ["seed"],
          skip: (values) => values["seed"] === 1,
          generate: (input: BatchInput) => {
            inputs.push(input.rowIndexes)
            return Effect.succeed(input.rows.map((row) => ({ batch: (row["seed"] as number) * 10 })))
          }
        }]
      })
      assert.deepStrictEqual(inputs, [[0, 2]])
      assert.deepStrictEqual(rowsOf(written).map((r) => r["batch"]), [0, null, 20])
      assert.deepStrictEqual(result.outcomes, { success: 2 })
    }))

  // Mirrors test_scheduler_fully_skipped_model_batch_does_not_record_provider_outcome: every row skipped → no call,
  // no outcome recorded.
  it.effect("a fully skipped full column is never called and records no outcome", () =>
    Effect.gen(function*() {
      let called = 0
      const { result, written } = yield* runTest({
        rows: 3,
        bufferSize: 3,
        columns: [
          {
            name: "judge",
            strategy: "full",
            scheduling: customModelMetadata("test", "judge", "v1"),
            skip: () => true,
            generate: () => Effect.sync(() => (called++, [{}, {}, {}]))
          }
        ]
      })
      assert.strictEqual(called, 0)
      assert.deepStrictEqual(result.outcomes, {})
      assert.strictEqual(result.cellsSkipped, 3)
      assert.deepStrictEqual(rowsOf(written), [{ judge: null }, { judge: null }, { judge: null }])
    }))

  it.effect("propagateSkip: false lets a downstream cell run on the null value", () =>
    Effect.gen(function*() {
      const b: Array<number> = []
      const { written } = yield* runTest({
        rows: 2,
        bufferSize: 2,
        columns: [
          seed,
          modelCell("a", ["seed"], [], { skip: (values) => values["seed"] === 0 }),
          modelCell("b", ["a"], b, { propagateSkip: false })
        ]
      })
      assert.sameMembers(b, [0, 1])
      assert.deepStrictEqual(rowsOf(written)[0], { seed: 0, a: null, b: "b-0" })
    }))

  it.effect("a skip predicate that fails drops its row with that failure", () =>
    Effect.gen(function*() {
      const calls: Array<number> = []
      const { result } = yield* runTest({
        rows: 2,
        bufferSize: 2,
        columns: [
          seed,
          modelCell("a", ["seed"], calls, {
            skip: (values) => values["seed"] === 1 ? new SchedulerGeneratorError({ message: "bad expression" }) : false
          })
        ]
      })
      assert.deepStrictEqual(calls, [0])
      assert.strictEqual(result.droppedRows.length, 1)
      assert.strictEqual(result.droppedRows[0]!.cause.kind, "generator_failure")
      assert.match(result.droppedRows[0]!.cause.message, /bad expression/)
    }))

  it.effect("a full column whose skip fails on every row drops them and never runs", () =>
    Effect.gen(function*() {
      let called = 0
      const { result, written, events } = yield* runTest({
        rows: 2,
        bufferSize: 2,
        columns: [seed, {
          name: "batch",
          strategy: "full",
          requires: ["seed"],
          skip: () => new SchedulerGeneratorError({ message: "cannot decide" }),
          generate: () => Effect.sync(() => (called++, []))
        }]
      })
      assert.strictEqual(called, 0)
      assert.strictEqual(written.length, 0)
      assert.strictEqual(result.rowsDropped, 2)
      assert.isFalse(events.some((e) => e._tag === "ready_enqueued" && e.column === "batch"), "no task was created")
    }))

  it.effect("skips are evaluated after the pre-batch processor: a dropped row is neither skipped nor generated", () =>
    Effect.gen(function*() {
      const calls: Array<number> = []
      const dropFirst: RowProcessor = { name: "drop-first", stage: "pre-batch", process: () => Effect.succeed([0]) }
      const { result } = yield* runTest({
        rows: 3,
        bufferSize: 3,
        processors: [dropFirst],
        columns: [seed, modelCell("a", ["seed"], calls, { skip: (values) => values["seed"] === 2 })]
      })
      assert.deepStrictEqual(calls, [1])
      assert.strictEqual(result.cellsSkipped, 1)
      assert.strictEqual(result.rowsCompleted, 2)
    }))
})
