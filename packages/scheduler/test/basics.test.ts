import { assert, describe, it } from "@effect/vitest"
import { Effect, Tracer } from "effect"
import { customModelMetadata } from "@sluice/resolver"
import { SchedulerGeneratorError } from "../src/index.js"
import { runTest } from "./helpers.js"

describe("basics", () => {
  it.effect("a root full column is dispatched before the cell tasks that need it", () =>
    Effect.gen(function*() {
      const order: Array<string> = []
      const { result, written } = yield* runTest({
        rows: 3,
        bufferSize: 3,
        columns: [
          {
            name: "seed",
            strategy: "full",
            generate: ({ rows }) => Effect.sync(() => (order.push("seed"), rows.map((_, i) => ({ seed: i }))))
          },
          {
            name: "cell",
            strategy: "cell",
            requires: ["seed"],
            generate: ({ values }) => Effect.sync(() => (order.push("cell"), { cell: Number(values.seed) * 10 }))
          }
        ]
      })
      assert.deepStrictEqual(order, ["seed", "cell", "cell", "cell"])
      assert.strictEqual(result.rowsCompleted, 3)
      assert.deepStrictEqual(written[0]!.rows.map((r) => r.cell), [0, 10, 20])
    }))

  it.effect("root cell columns get one task per row with the row's indexes", () =>
    Effect.gen(function*() {
      const { written } = yield* runTest({
        rows: 5,
        bufferSize: 2,
        columns: [{
          name: "id",
          strategy: "cell",
          generate: ({ row, rowIndex }) => Effect.succeed({ id: `${row}:${rowIndex}` })
        }]
      })
      assert.deepStrictEqual(written.map((w) => w.size), [2, 2, 1])
      assert.deepStrictEqual(written.flatMap((w) => w.rows.map((r) => r.id)), ["0:0", "1:1", "2:0", "3:1", "4:0"])
    }))

  it.effect("a faster row group checkpoints before a slower one", () =>
    Effect.gen(function*() {
      const { written } = yield* runTest({
        rows: 4,
        bufferSize: 2,
        columns: [{
          name: "x",
          strategy: "cell",
          generate: ({ rowGroup }) => Effect.sleep(rowGroup === 0 ? 500 : 100).pipe(Effect.as({ x: rowGroup }))
        }]
      })
      assert.deepStrictEqual(written.map((w) => w.rowGroup), [1, 0])
    }))

  it.effect("maxInFlightTasks bounds concurrent tasks and the run still completes", () =>
    Effect.gen(function*() {
      let active = 0
      let max = 0
      const { result } = yield* runTest({
        rows: 5,
        bufferSize: 5,
        columns: [{
          name: "x",
          strategy: "cell",
          generate: () =>
            Effect.sync(() => {
              active++
              max = Math.max(max, active)
            }).pipe(Effect.andThen(Effect.sleep(50)), Effect.ensuring(Effect.sync(() => active--)), Effect.as({ x: 1 }))
        }]
      }, { maxInFlightTasks: 2 })
      assert.strictEqual(max, 2)
      assert.strictEqual(result.rowsCompleted, 5)
      assert.strictEqual(result.maxInFlightByResource["submission"], 2)
    }))

  it.effect("caps of 1 with two model-bound columns do not deadlock", () =>
    Effect.gen(function*() {
      const { result } = yield* runTest({
        rows: 3,
        bufferSize: 3,
        columns: [
          {
            name: "a",
            strategy: "cell",
            scheduling: customModelMetadata("t", "a", "v1"),
            generate: () => Effect.sleep(10).pipe(Effect.as({ a: 1 }))
          },
          {
            name: "b",
            strategy: "cell",
            requires: ["a"],
            scheduling: customModelMetadata("t", "b", "v1"),
            generate: () => Effect.sleep(10).pipe(Effect.as({ b: 1 }))
          }
        ]
      }, { maxInFlightTasks: 1, maxModelTaskAdmission: 1 })
      assert.strictEqual(result.rowsCompleted, 3)
    }))

  it.effect("a multi-output generator completes all its outputs at once; fan-out and fan-in per row", () =>
    Effect.gen(function*() {
      const calls: Array<string> = []
      const { written } = yield* runTest({
        rows: 2,
        bufferSize: 2,
        columns: [
          {
            name: "pair",
            strategy: "cell",
            outputs: ["x", "y"],
            generate: ({ row }) => Effect.succeed({ x: row, y: row + 100, junk: 1 })
          },
          {
            name: "fx",
            strategy: "cell",
            requires: ["x"],
            generate: ({ values }) => Effect.sync(() => (calls.push("fx"), { fx: values.x }))
          },
          {
            name: "fy",
            strategy: "cell",
            requires: ["y"],
            generate: ({ values }) => Effect.sync(() => (calls.push("fy"), { fy: values.y }))
          },
          {
            name: "join",
            strategy: "full",
            requires: ["fx", "fy"],
            generate: ({ rows }) => Effect.succeed(rows.map((r) => ({ join: `${r.fx}+${r.fy}` })))
          }
        ]
      })
      assert.strictEqual(calls.length, 4)
      assert.deepStrictEqual(written[0]!.rows, [
        { x: 0, y: 100, fx: 0, fy: 100, join: "0+100" },
        { x: 1, y: 101, fx: 1, fy: 101, join: "1+101" }
      ])
    }))

  it.effect("resume skips row groups already checkpointed", () =>
    Effect.gen(function*() {
      const seen = new Set<number>()
      const { result, written } = yield* runTest({
        rows: 7,
        bufferSize: 2,
        columns: [{
          name: "x",
          strategy: "cell",
          generate: ({ rowGroup }) => Effect.sync(() => (seen.add(rowGroup), { x: 1 }))
        }]
      }, { resume: { completedRowGroups: [0, 2] } })
      assert.deepStrictEqual(written.map((w) => w.rowGroup), [1, 3])
      assert.deepStrictEqual([...seen].sort(), [1, 3])
      assert.strictEqual(result.rowsResumed, 4)
      assert.strictEqual(result.rowsCompleted, 3)
    }))

  it.effect("a failing sink fails the run with a typed error and leaks nothing", () =>
    Effect.gen(function*() {
      const { exit } = yield* runTest({
        rows: 4,
        bufferSize: 2,
        sink: { write: () => Effect.fail("disk full") },
        columns: [{ name: "x", strategy: "cell", generate: () => Effect.succeed({ x: 1 }) }]
      })
      assert.isTrue(exit._tag === "Failure")
      if (exit._tag === "Failure") assert.include(String(exit.cause), "CheckpointWriteError")
    }))

  it.effect("events describe the run without row values", () =>
    Effect.gen(function*() {
      const { events } = yield* runTest({
        rows: 3,
        bufferSize: 2,
        columns: [
          { name: "x", strategy: "cell", generate: () => Effect.succeed({ x: "SECRET-COMPLETION" }) },
          {
            name: "y",
            strategy: "cell",
            requires: ["x"],
            generate: ({ row }) =>
              row === 2 ? Effect.fail(new SchedulerGeneratorError({ message: "bad" })) : Effect.succeed({ y: 1 })
          }
        ]
      }, { earlyShutdown: false })
      const types = new Set(events.map((e) => e._tag))
      for (
        const t of [
          "scheduler_job_started",
          "row_group_admitted",
          "ready_enqueued",
          "selected",
          "task_lease_acquired",
          "worker_spawned",
          "task_completed",
          "task_lease_released",
          "row_dropped",
          "row_group_checkpointed",
          "scheduler_job_completed"
        ] as const
      ) assert.isTrue(types.has(t), t)
      assert.notInclude(JSON.stringify(events), "SECRET")
      assert.strictEqual(events.at(-1)!._tag, "scheduler_job_completed")
    }))

  it.effect("a full column sees its row group's dataset rows; task_completed and stats count the rows a task wrote", () =>
    Effect.gen(function*() {
      const { events, scheduler, written } = yield* runTest({
        rows: 10,
        bufferSize: 4,
        columns: [
          {
            name: "id",
            strategy: "full",
            generate: ({ firstRow, rowIndexes }) => Effect.succeed(rowIndexes.map((i) => ({ id: firstRow + i })))
          },
          {
            name: "twice",
            strategy: "cell",
            requires: ["id"],
            generate: ({ values }) => Effect.succeed({ twice: Number(values["id"]) * 2 })
          }
        ]
      })
      const ids = written.flatMap((c) => c.rows.map((r) => r["id"]))
      assert.deepStrictEqual(ids, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9])
      const rowsOf = (column: string) =>
        events.flatMap((e) => (e._tag === "task_completed" && e.column === column ? [e.rows] : [])).sort()
      assert.deepStrictEqual(rowsOf("id"), [2, 4, 4])
      assert.deepStrictEqual(rowsOf("twice"), Array.from({ length: 10 }, () => 1))
      // The same progress, polled instead of subscribed: 10 rows of `id` (3 tasks) + 10 cells of `twice`.
      assert.deepInclude(yield* scheduler.stats, { cellsCompleted: 20, checkpointedRows: 10, rowsDropped: 0 })
    }))
})

describe("tracing", () => {
  it.effect("one span per row group, from admission to checkpoint, with its surviving rows", () =>
    Effect.gen(function*() {
      const spans: Array<Tracer.NativeSpan> = []
      const tracer = Tracer.make({
        span: (options) => {
          const span = new Tracer.NativeSpan(options)
          spans.push(span)
          return span
        }
      })
      yield* runTest({
        rows: 5,
        bufferSize: 2,
        columns: [{
          name: "x",
          strategy: "cell",
          generate: ({ row }) =>
            row === 4 ? Effect.fail(new SchedulerGeneratorError({ message: "no" })) : Effect.succeed({ x: row })
        }]
      }, { earlyShutdown: false }).pipe(Effect.provideService(Tracer.Tracer, tracer))
      const rowGroups = spans.filter((s) => s.name === "sluice.scheduler.row_group")
      assert.deepStrictEqual(rowGroups.map((s) => s.attributes.get("sluice.row_group")), [0, 1, 2])
      assert.deepStrictEqual(rowGroups.map((s) => s.attributes.get("sluice.surviving_rows")), [2, 2, 0])
      assert.isTrue(rowGroups.every((s) => s.status._tag === "Ended"))
    }))
})
