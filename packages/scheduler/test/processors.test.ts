import { assert, describe, it } from "@effect/vitest"
import { customModelMetadata } from "@sluice/resolver"
import { Cause, Effect, Exit } from "effect"
import {
  type Column,
  type ProcessorInput,
  type RowProcessor,
  type SchedulerEvent,
  SchedulerProcessorError
} from "../src/index.js"
import { runTest } from "./helpers.js"

// Row-group processors: a pre-batch hook once a row group's seed columns are complete, a post-batch hook before its
// checkpoint. Each test names the anchor test (Data Designer's async scheduler tests) it mirrors.

/** A local full-column sampler: the seed column. */
const seed: Column = {
  name: "seed",
  strategy: "full",
  generate: ({ rowIndexes, firstRow }) => Effect.succeed(rowIndexes.map((r) => ({ seed: firstRow + r })))
}

/** A model column reading the seed, counting its calls per dataset row. */
const llm = (calls: Array<number>, name = "llm"): Column => ({
  name,
  strategy: "cell",
  requires: ["seed"],
  scheduling: customModelMetadata("test", name, "v1"),
  generate: ({ row, values }) =>
    Effect.sleep(10).pipe(Effect.andThen(Effect.sync(() => {
      calls.push(row)
      return { [name]: `answer ${String(values["seed"])}` }
    })))
})

const processor = (
  stage: RowProcessor["stage"],
  process: (input: ProcessorInput) => Effect.Effect<ReadonlyArray<number>, unknown>,
  name = `${stage}-test`
): RowProcessor => ({ name, stage, process })

const processorErrorOf = (exit: Exit.Exit<unknown, unknown>): SchedulerProcessorError => {
  assert.isTrue(Exit.isFailure(exit), "the run fails")
  const error = Exit.isFailure(exit) ? Cause.findErrorOption(exit.cause) : undefined
  assert.isTrue(error?._tag === "Some" && error.value instanceof SchedulerProcessorError, "a processor error")
  return (error as { value: SchedulerProcessorError }).value
}

const tags = (events: ReadonlyArray<SchedulerEvent>, tag: SchedulerEvent["_tag"]) =>
  events.filter((e) => e._tag === tag)

describe("row-group processors", () => {
  // Mirrors test_scheduler_pre_batch_failure_raises.
  it.effect("a failing pre-batch processor fails the run with a processor error naming the stage", () =>
    Effect.gen(function*() {
      const calls: Array<number> = []
      const { exit, written } = yield* runTest({
        rows: 3,
        bufferSize: 3,
        columns: [seed, llm(calls)],
        processors: [processor("pre-batch", () => Effect.fail(new Error("boom")))]
      })
      const error = processorErrorOf(exit)
      assert.strictEqual(error.stage, "pre-batch")
      assert.strictEqual(error.rowGroup, 0)
      assert.match(error.message, /^Pre-batch processor "pre-batch-test" failed for row group 0: boom/)
      assert.deepStrictEqual(calls, [], "no model call after a failed pre-batch")
      assert.strictEqual(written.length, 0)
    }))

  // Mirrors test_scheduler_pre_batch_failure_propagates_across_row_groups.
  it.effect("a pre-batch failure in a later row group still fails the run", () =>
    Effect.gen(function*() {
      const calls: Array<number> = []
      const seen: Array<number> = []
      const { exit } = yield* runTest({
        rows: 6,
        bufferSize: 3,
        columns: [seed, llm(calls)],
        processors: [processor("pre-batch", (input) => {
          seen.push(input.rowGroup)
          return input.rowGroup === 1 ? Effect.fail("second group refused") : Effect.succeed([])
        })]
      }, { maxConcurrentRowGroups: 1 })
      const error = processorErrorOf(exit)
      assert.strictEqual(error.rowGroup, 1)
      assert.match(error.message, /second group refused/)
      assert.deepStrictEqual(seen, [0, 1])
      assert.sameMembers(calls, [0, 1, 2], "only the first group's rows reached the model")
    }))

  // Mirrors test_scheduler_post_batch_failure_raises.
  it.effect("a failing post-batch processor fails the run before the row group is written", () =>
    Effect.gen(function*() {
      const { exit, written } = yield* runTest({
        rows: 3,
        bufferSize: 3,
        columns: [seed, llm([])],
        processors: [processor("post-batch", () => Effect.fail(new Error("late boom")))]
      })
      const error = processorErrorOf(exit)
      assert.strictEqual(error.stage, "post-batch")
      assert.match(error.message, /^Post-batch processor "post-batch-test" failed for row group 0: late boom/)
      assert.strictEqual(written.length, 0)
    }))

  // Mirrors test_scheduler_on_before_checkpoint_callback: called with (0, 3) and (1, 2).
  it.effect("the post-batch processor sees each complete row group, with its size, before its checkpoint", () =>
    Effect.gen(function*() {
      const seen: Array<readonly [number, number, number]> = []
      const { result, written } = yield* runTest({
        rows: 5,
        bufferSize: 3,
        columns: [seed, llm([])],
        processors: [processor("post-batch", (input) => {
          seen.push([input.rowGroup, input.size, input.rows.length])
          // Every column is complete when the processor runs.
          for (const row of input.rows) assert.isString(row["llm"])
          return Effect.succeed([])
        })]
      })
      assert.sameDeepMembers(seen, [[0, 3, 3], [1, 2, 2]])
      assert.strictEqual(result.rowsCompleted, 5)
      assert.strictEqual(written.length, 2)
    }))

  // Mirrors test_main_dispatch_loop_yields_when_pre_batch_is_pending: while a row group's pre-batch is pending the
  // loop neither spins nor stalls; here, nothing but seed work is dispatched before the processor ran, and a slow
  // processor (1 s on the TestClock) still lets the run finish.
  it.effect("while a pre-batch is pending only seed tasks run; non-seed tasks wait for it", () =>
    Effect.gen(function*() {
      const calls: Array<number> = []
      const { result, events } = yield* runTest({
        rows: 4,
        bufferSize: 4,
        columns: [seed, llm(calls)],
        processors: [processor("pre-batch", () => Effect.sleep(1000).pipe(Effect.as([])))]
      })
      const processed = tags(events, "processor_completed")
      assert.strictEqual(processed.length, 1)
      const processedAt = processed[0]!.at
      const llmSelected = events.filter((e) => e._tag === "selected" && e.column === "llm")
      assert.strictEqual(llmSelected.length, 4)
      for (const e of llmSelected) assert.isAtLeast(e.at, processedAt, "no model task before the pre-batch")
      assert.isAtLeast(processedAt, 1000)
      assert.strictEqual(result.rowsCompleted, 4)
    }))

  // Mirrors test_scheduler_pre_batch_drop_removes_pending_ready_task: pre-batch drops row 1 → only rows 0 and 2 are
  // dispatched.
  it.effect("a row the pre-batch processor drops never reaches a model", () =>
    Effect.gen(function*() {
      const calls: Array<number> = []
      const { result, written } = yield* runTest({
        rows: 3,
        bufferSize: 3,
        columns: [seed, llm(calls)],
        processors: [processor("pre-batch", () => Effect.succeed([1]))]
      })
      assert.sameMembers(calls, [0, 2])
      assert.deepStrictEqual(written[0]!.rowIndexes, [0, 2])
      assert.deepStrictEqual(result.dropCauses, { processor_dropped: 1 })
      assert.deepStrictEqual(result.droppedRows[0]!.cause.processor, "pre-batch-test")
    }))

  // Mirrors test_pre_batch_flush_batches_pending_ready_and_skips_dropped_rows: the held-back tasks are released
  // together once the processor ran, minus those of dropped rows; purged tasks are neither run nor counted.
  it.effect("parked tasks are released at once after the pre-batch, without the dropped rows' tasks", () =>
    Effect.gen(function*() {
      const calls: Array<number> = []
      const { result, events } = yield* runTest({
        rows: 5,
        bufferSize: 5,
        columns: [seed, llm(calls, "a"), llm([], "b")],
        processors: [processor("pre-batch", () => Effect.succeed([0, 2, 4]))]
      }, { earlyShutdown: { window: 2, rate: 0.5 } })
      const processedAt = tags(events, "processor_completed")[0]!.at
      const enqueued = events.filter((e) => e._tag === "ready_enqueued" && e.column !== "seed")
      assert.strictEqual(enqueued.length, 4, "2 surviving rows × 2 columns")
      for (const e of enqueued) assert.strictEqual(e.at, processedAt, "released in the processor's turn")
      assert.sameMembers(calls, [1, 3])
      assert.deepStrictEqual(result.outcomes, { success: 5 }, "1 seed task + 4 cells; purged tasks count as nothing")
      assert.isFalse(result.earlyShutdown, "processor drops are not failures")
      assert.deepStrictEqual(result.dropCauses, { processor_dropped: 3 })
    }))

  it.effect("post-batch drops are recorded and the survivors written; a processor stage sees the previous survivors", () =>
    Effect.gen(function*() {
      const secondSaw: Array<ReadonlyArray<number>> = []
      const { result, written } = yield* runTest({
        rows: 4,
        bufferSize: 4,
        columns: [seed, llm([])],
        processors: [
          processor("post-batch", () => Effect.succeed([3]), "first"),
          processor("post-batch", (input) => {
            secondSaw.push(input.rowIndexes)
            return Effect.succeed([0])
          }, "second")
        ]
      })
      assert.deepStrictEqual(secondSaw, [[0, 1, 2]])
      assert.deepStrictEqual(written[0]!.rowIndexes, [1, 2])
      assert.deepStrictEqual(result.droppedRows.map((d) => [d.row, d.cause.processor]), [[3, "first"], [0, "second"]])
    }))

  it.effect("a processor returning a row that is not one of its input's rows fails the run", () =>
    Effect.gen(function*() {
      const { exit } = yield* runTest({
        rows: 2,
        bufferSize: 2,
        columns: [seed, llm([])],
        processors: [processor("pre-batch", () => Effect.succeed([7]))]
      })
      assert.match(processorErrorOf(exit).message, /returned row index 7/)
    }))

  it.effect("a pre-batch that drops every row writes nothing and calls no model", () =>
    Effect.gen(function*() {
      const calls: Array<number> = []
      const { result, written } = yield* runTest({
        rows: 6,
        bufferSize: 3,
        columns: [seed, llm(calls)],
        processors: [processor("pre-batch", (input) => Effect.succeed(input.rowIndexes))]
      })
      assert.deepStrictEqual(calls, [])
      assert.strictEqual(written.length, 0)
      assert.strictEqual(result.rowsDropped, 6)
    }))
})
