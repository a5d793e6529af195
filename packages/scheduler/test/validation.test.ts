import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { type Column, makeScheduler, type SchedulerOptions } from "../src/index.js"
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
