import { ModelAuthenticationError } from "@sluice/errors"
import { assert, describe, it } from "@effect/vitest"
import { Clock, Effect } from "effect"
import { customModelMetadata, localMetadata, SchedulingMetadataError } from "@sluice/resolver"
import { type Checkpoint } from "../src/index.js"
import { runTest } from "./helpers.js"

const facts = { provider: "p", model: "m", reason: "r", solution: "s" }
const llm = (name: string, requires: ReadonlyArray<string> = [], ms = 100) => ({
  name,
  strategy: "cell" as const,
  requires,
  scheduling: customModelMetadata("t", name, "v1"),
  generate: () => Effect.sleep(ms).pipe(Effect.as({ [name]: 1 }))
})

describe("anchor behaviours", () => {
  it.effect("fair admission across ready columns: the first dispatches cover every column", () =>
    Effect.gen(function*() {
      const { events } = yield* runTest({ rows: 4, bufferSize: 4, columns: [llm("a"), llm("b"), llm("c")] }, {
        maxModelTaskAdmission: 4
      })
      const selected = events.flatMap((e) => (e._tag === "selected" ? [e.column] : []))
      assert.sameMembers(selected.slice(0, 3), ["a", "b", "c"])
      for (const c of ["a", "b", "c"]) assert.isAtMost(selected.slice(0, 4).filter((s) => s === c).length, 2)
    }))

  it.effect("fairness holds across row groups too: each window of three dispatches covers all columns", () =>
    Effect.gen(function*() {
      const { events } = yield* runTest({ rows: 8, bufferSize: 4, columns: [llm("a"), llm("b"), llm("c")] }, {
        maxModelTaskAdmission: 3,
        maxConcurrentRowGroups: 2
      })
      const selected = events.flatMap((e) => (e._tag === "selected" ? [e.column] : []))
      for (let i = 0; i + 3 <= 12; i += 3) assert.sameMembers(selected.slice(i, i + 3), ["a", "b", "c"])
    }))

  it.effect("downstream work interleaves with upstream: a judge starts before the last generation is dispatched", () =>
    Effect.gen(function*() {
      const { events } = yield* runTest({ rows: 20, bufferSize: 20, columns: [llm("gen"), llm("judge", ["gen"])] }, {
        maxInFlightTasks: 4
      })
      const selected = events.flatMap((e) => (e._tag === "selected" ? [e.column] : []))
      assert.isBelow(selected.indexOf("judge"), selected.lastIndexOf("gen"))
    }))

  it.effect("a row group with a dropped row waits for its still-running workers before it checkpoints", () =>
    Effect.gen(function*() {
      const at: Array<number> = []
      const written: Array<Checkpoint> = []
      yield* runTest(
        {
          rows: 2,
          bufferSize: 2,
          sink: { write: (c) => Clock.currentTimeMillis.pipe(Effect.map((t) => void (at.push(t), written.push(c)))) },
          columns: [
            {
              name: "a",
              strategy: "cell",
              generate: ({ row }) =>
                Effect.sleep(10).pipe(
                  Effect.andThen(
                    row === 0 ? Effect.fail(new ModelAuthenticationError(facts)) : Effect.succeed({ a: 1 })
                  )
                )
            },
            {
              name: "b",
              strategy: "cell",
              generate: ({ row }) => Effect.sleep(row === 0 ? 500 : 10).pipe(Effect.as({ b: 1 }))
            }
          ]
        },
        { earlyShutdown: false, stopOnKinds: [] },
        { written }
      )
      assert.deepStrictEqual(at, [500])
      assert.deepStrictEqual(written[0]!.rowIndexes, [1])
    }))

  it.effect("early shutdown writes the finished rows of a partial row group", () =>
    Effect.gen(function*() {
      const { result, written, events } = yield* runTest({
        rows: 8,
        bufferSize: 8,
        columns: [{
          name: "x",
          strategy: "cell",
          generate: ({ row }) =>
            Effect.sleep(10 * (row + 1)).pipe(
              Effect.andThen(
                row >= 2 && row % 2 === 0
                  ? Effect.fail(new ModelAuthenticationError(facts))
                  : Effect.succeed({ x: row })
              )
            )
        }]
      }, { earlyShutdown: { window: 4, rate: 0.5 }, maxInFlightTasks: 1, stopOnKinds: [] })
      assert.isTrue(result.earlyShutdown)
      assert.deepStrictEqual(written.map((c) => c.rowIndexes), [[0, 1, 3]])
      assert.deepStrictEqual(result.dropCauses, { authentication: 2, early_shutdown: 3 })
      const completed = events.filter((e) => e._tag === "scheduler_job_completed")
      assert.strictEqual(completed.length, 1)
      assert.isTrue(completed[0]!._tag === "scheduler_job_completed" && completed[0]!.outcome === "early_shutdown")
    }))

  it.effect("zero survivors after early shutdown: nothing written, one terminal event", () =>
    Effect.gen(function*() {
      const { result, written, events } = yield* runTest({
        rows: 12,
        bufferSize: 4,
        columns: [{ name: "x", strategy: "cell", generate: () => Effect.fail(new ModelAuthenticationError(facts)) }]
      }, { earlyShutdown: { window: 2, rate: 1 }, stopOnKinds: [] })
      assert.isTrue(result.earlyShutdown)
      assert.strictEqual(written.length, 0)
      assert.strictEqual(result.rowsDropped, 12)
      assert.strictEqual(events.filter((e) => e._tag === "scheduler_job_completed").length, 1)
    }))

  it.effect("a metadata error with a fallback uses the fallback and reports it in the capacity plan", () =>
    Effect.gen(function*() {
      const { result } = yield* runTest({
        rows: 2,
        bufferSize: 2,
        columns: [{
          name: "x",
          strategy: "cell",
          scheduling: new SchedulingMetadataError({
            code: "missing_model_alias",
            field: "aliases",
            message: "no model alias",
            fallback: localMetadata()
          }),
          generate: () => Effect.succeed({ x: 1 })
        }]
      })
      assert.strictEqual(result.rowsCompleted, 2)
      assert.strictEqual(result.capacityPlan.diagnostics[0]!.code, "missing_model_alias")
    }))
})
