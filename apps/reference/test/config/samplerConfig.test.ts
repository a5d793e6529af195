import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { resolveConfig } from "../fixtures/resolveConfig.js"

const base = { providers: [{ name: "local", type: "mock" }] }
const report = (columns: ReadonlyArray<unknown>) =>
  resolveConfig("config.yaml", { ...base, columns }).pipe(Effect.flip, Effect.map((error) => error.report))

describe("sampler configs", () => {
  it.effect("uniform takes min/max or Data Designer's low/high, not both", () =>
    Effect.gen(function*() {
      const loaded = yield* resolveConfig("config.yaml", {
        ...base,
        columns: [{ name: "a", type: "uniform", low: 1, high: 2 }, { name: "b", type: "uniform", min: 1, max: 2 }]
      })
      assert.strictEqual(loaded.columns.length, 2)
      assert.include(
        yield* report([{ name: "a", type: "uniform", min: 1, high: 2 }]),
        "columns[0].max: Expected a number (max, or high)"
      )
      assert.include(
        yield* report([{ name: "a", type: "uniform", min: 1, max: 2, low: 0 }]),
        "columns[0].low: Expected either min/max or low/high, not both"
      )
    }))

  it.effect("conditionalParams: the column it reads is a dependency; each case is checked as a column", () =>
    Effect.gen(function*() {
      const loaded = yield* resolveConfig("config.yaml", {
        ...base,
        columns: [
          { name: "p", type: "category", values: ["a", "b"] },
          {
            name: "x",
            type: "gaussian",
            mean: 0,
            stddev: 1,
            conditionalParams: { on: "p", values: { a: { mean: 100 } } }
          }
        ]
      })
      assert.deepStrictEqual(loaded.columns[1]?.dependencies, ["p"])
      assert.strictEqual(loaded.columns[1]?.conditions?.cases.get("a")?.type, "gaussian")
      const bad = yield* report([
        { name: "p", type: "category", values: ["a", "b"] },
        {
          name: "x",
          type: "uniform",
          min: 0,
          max: 1,
          conditionalParams: { on: "q", values: { a: { max: -1 }, b: { maen: 3 }, c: { type: "uuid" } } }
        }
      ])
      assert.include(bad, `columns[1].conditionalParams.on: unknown column "q"`)
      assert.include(bad, "columns[1].conditionalParams.values.a.max: Expected max >= min")
      assert.include(bad, "columns[1].conditionalParams.values.b.maen")
      assert.include(bad, "columns[1].conditionalParams.values.c.type: only the sampler's parameters")
    }))

  it.effect("subcategory lists values for every parent value; timedelta and person are checked", () =>
    Effect.gen(function*() {
      const bad = yield* report([
        { name: "p", type: "category", values: ["tent", "lamp"] },
        { name: "s", type: "subcategory", category: "p", values: { tent: ["big"] } },
        { name: "t", type: "timedelta", reference: "when", min: 1, max: 2 },
        { name: "u", type: "person", locale: "xx_XX" }
      ])
      assert.include(bad, `columns[1].values: no values for "lamp" of column "p"`)
      assert.include(bad, `columns[2].reference: unknown column "when"`)
      assert.include(bad, `columns[3].locale: unknown locale "xx_XX"`)
      // Schema problems are reported before reference checks run.
      assert.include(
        yield* report([{ name: "d", type: "datetime", start: "2024-05-01", end: "2024-01-01" }]),
        "columns[0].end: Expected end >= start"
      )
    }))
})
