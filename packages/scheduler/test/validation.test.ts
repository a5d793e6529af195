import { assert, describe, it } from "@effect/vitest"
import { localMetadata, modelMetadata, resolveScheduling } from "@sluice/resolver"
import { Duration, Effect, Exit, Schema } from "effect"
import { type Column, makeScheduler, SchedulerOptions, type SchedulerSpec } from "../src/index.js"
import { memorySink } from "./helpers.js"

const cell = (name: string, requires: ReadonlyArray<string> = [], outputs?: ReadonlyArray<string>): Column => ({
  name,
  strategy: "cell",
  requires,
  ...(outputs === undefined ? {} : { outputs }),
  generate: () => Effect.succeed({ [name]: 1 })
})

const configError = (columns: ReadonlyArray<Column>, rows = 4, bufferSize = 2, options: SchedulerOptions = {}) =>
  makeScheduler({ columns, rows, bufferSize, sink: memorySink().sink }, options).pipe(Effect.flip)

describe("spec validation", () => {
  it.effect("an unknown required column names the field and the column", () =>
    Effect.gen(function*() {
      const error = yield* configError([cell("a"), cell("b", ["a", "missing"])])
      assert.strictEqual(error.reason, "unknown_required_column")
      assert.strictEqual(error.field, "columns[1].requires[1]")
      assert.include(error.message, "missing")
    }))

  it.effect("a cycle names the columns on it", () =>
    Effect.gen(function*() {
      const error = yield* configError([cell("seed"), cell("a", ["c"]), cell("b", ["a"]), cell("c", ["b", "seed"])])
      assert.strictEqual(error.reason, "cycle")
      assert.sameMembers([...(error.columns ?? [])], ["a", "b", "c"])
      assert.include(error.message, "->")
    }))

  it.effect("duplicate outputs and duplicate columns are refused", () =>
    Effect.gen(function*() {
      const dup = yield* configError([cell("a", [], ["x", "y"]), cell("b", [], ["y"])])
      assert.strictEqual(dup.reason, "duplicate_output")
      assert.strictEqual(dup.field, "columns[1].outputs[0]")
      assert.deepStrictEqual(dup.columns, ["a", "b"])
      const twice = yield* configError([cell("a"), cell("a")])
      assert.strictEqual(twice.reason, "duplicate_column")
    }))

  it.effect("rows, bufferSize and options must be positive integers", () =>
    Effect.gen(function*() {
      assert.strictEqual((yield* configError([cell("a")], 0)).field, "rows")
      assert.strictEqual((yield* configError([cell("a")], 4, 0)).field, "bufferSize")
      assert.strictEqual(
        (yield* configError([cell("a")], 4, 2, { maxConcurrentRowGroups: 0 })).field,
        "maxConcurrentRowGroups"
      )
      assert.strictEqual(
        (yield* configError([cell("a")], 4, 2, { retry: { maxAttempts: 0 } })).field,
        "retry.maxAttempts"
      )
      assert.strictEqual(
        (yield* configError([cell("a")], 4, 2, { earlyShutdown: { rate: 0 } })).field,
        "earlyShutdown.rate"
      )
      assert.strictEqual(
        (yield* configError([cell("a")], 4, 2, { resume: { completedRowGroups: [5] } })).field,
        "resume.completedRowGroups[0]"
      )
      assert.strictEqual((yield* configError([])).field, "columns")
    }))

  it.effect("scheduling metadata is validated per field", () =>
    Effect.gen(function*() {
      const error = yield* configError([
        { ...cell("a"), scheduling: { kind: "model", provider: "p", model: "m", domain: "chat", weight: 0 } }
      ])
      assert.strictEqual(error.field, "columns[0].scheduling.weight")
      const domain = yield* configError([
        { ...cell("a"), scheduling: { kind: "model", provider: "p", model: "m", domain: "video" as never, weight: 1 } }
      ])
      assert.strictEqual(domain.field, "columns[0].scheduling.domain")
    }))
})

describe("options schema", () => {
  it.effect("decodes the defaults", () =>
    Effect.gen(function*() {
      const decoded = yield* Schema.decodeUnknownEffect(SchedulerOptions)({})
      assert.deepStrictEqual(
        { ...decoded, retry: { ...decoded.retry, baseDelay: Duration.toMillis(decoded.retry.baseDelay) } },
        {
          maxConcurrentRowGroups: 3,
          admissionPolicy: "bounded-borrow",
          dispatchBatch: 4,
          retry: { maxAttempts: 3, baseDelay: 1000, maxDelay: decoded.retry.maxDelay },
          earlyShutdown: { window: 10, rate: 0.5, ignoredKinds: [] },
          stopOnKinds: ["authentication"]
        }
      )
      assert.strictEqual(Duration.toMillis(decoded.retry.maxDelay), 30_000)
    }))

  it.effect("invalid options fail with a SchedulerConfigError naming the field", () =>
    Effect.gen(function*() {
      const cases: ReadonlyArray<readonly [SchedulerOptions, string]> = [
        [{ retry: { baseDelay: "soon" as never } }, "retry.baseDelay"],
        [{ retry: { preserveDeadline: -5 } }, "retry.preserveDeadline"],
        [{ earlyShutdown: { ignoredKinds: [""] } }, "earlyShutdown.ignoredKinds[0]"],
        [{ earlyShutdown: true as never }, "earlyShutdown"],
        [{ stopOnKinds: "authentication" as never }, "stopOnKinds"],
        [{ admissionPolicy: "fifo" as never }, "admissionPolicy"],
        [{ dispatchBatch: 1.5 }, "dispatchBatch"],
        [{ requestCapacity: {} as never }, "requestCapacity"]
      ]
      for (const [options, field] of cases) {
        const error = yield* configError([cell("a")], 4, 2, options)
        assert.strictEqual(error._tag, "SchedulerConfigError")
        assert.strictEqual(error.field, field, JSON.stringify(options))
        assert.strictEqual(error.reason, "invalid_value")
        assert.isAbove(error.message.length, 0)
      }
    }))
})

describe("a resolved scheduling", () => {
  const columns = [cell("a"), cell("b", ["a"])]
  const resolved = (limits: { maxInFlightTasks?: number } = {}) =>
    resolveScheduling([
      { generator: "a", outputColumns: ["a"], metadata: localMetadata() },
      { generator: "b", outputColumns: ["b"], metadata: modelMetadata("p", "m", "chat", 2) }
    ], limits)

  it.effect("is used as given: the columns' own metadata is not resolved again", () =>
    Effect.gen(function*() {
      const scheduling = yield* resolved({ maxInFlightTasks: 8 })
      const { sink } = memorySink()
      // The columns carry no metadata: only the given scheduling makes `b` a model column on p/m.
      const scheduler = yield* makeScheduler({ columns, rows: 4, bufferSize: 4, sink, scheduling })
      const result = yield* scheduler.run
      assert.strictEqual(result.rowsCompleted, 4)
      assert.strictEqual(result.maxInFlightByResource["request:p/m"], 2)
      // Without live request capacity there is no per-domain gate: it would repeat the provider/model's.
      assert.notProperty(result.maxInFlightByResource, "request:p/m/chat")
      assert.deepStrictEqual(
        result.capacityPlan.entries.filter((e) => e.source !== "runtime"),
        scheduling.capacityPlan.entries
      )
      assert.strictEqual((yield* scheduler.stats).limitByResource["submission"], 8)
    }))

  it.effect("must fit the columns and the options", () =>
    Effect.gen(function*() {
      const scheduling = yield* resolved({ maxInFlightTasks: 8 })
      const make = (spec: Partial<SchedulerSpec>, options: SchedulerOptions = {}) =>
        makeScheduler({ columns, rows: 4, bufferSize: 4, sink: memorySink().sink, scheduling, ...spec }, options).pipe(
          Effect.flip
        )
      assert.strictEqual((yield* make({}, { maxInFlightTasks: 16 })).field, "maxInFlightTasks")
      assert.strictEqual((yield* make({ columns: [...columns, cell("c")] })).field, "scheduling")
      assert.strictEqual(
        (yield* make({ columns: [cell("a", [], ["a", "z"]), cell("b", ["a"])] })).field,
        "columns[0].outputs"
      )
      const matching = makeScheduler({ columns, rows: 4, bufferSize: 4, sink: memorySink().sink, scheduling }, {
        maxInFlightTasks: 8
      })
      assert.isTrue(Exit.isSuccess(yield* Effect.exit(matching)))
    }))
})
