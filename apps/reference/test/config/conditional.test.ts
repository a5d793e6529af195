import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { dataIdentityOf } from "../../src/output/dataIdentity.js"
import { resolveConfig } from "../fixtures/resolveConfig.js"
import { valid } from "../fixtures/configs.js"

const issuesOf = (raw: unknown) =>
  resolveConfig("config.yaml", raw).pipe(Effect.flip, Effect.map((error) => error.report))

const withSkip = (when: string) => ({
  ...valid,
  columns: [valid.columns[0], { ...valid.columns[1], skip: { when } }, valid.columns[2]]
})

describe("skip.when and processors in the config", () => {
  it.effect("the columns skip.when reads are dependencies", () =>
    Effect.gen(function*() {
      const loaded = yield* resolveConfig("config.yaml", {
        ...valid,
        columns: [
          valid.columns[0],
          { name: "flag", type: "uniform", min: 0, max: 1 },
          { ...valid.columns[1], skip: { when: "flag > 0.5" } },
          valid.columns[2]
        ]
      })
      assert.deepStrictEqual(loaded.columns[2]?.dependencies, ["flag", "topic"])
    }))

  it.effect("a skip.when naming an unknown column is an issue at its path", () =>
    Effect.gen(function*() {
      const report = yield* issuesOf(withSkip("nope == 1"))
      assert.include(report, "columns[1].skip.when: unknown column \"nope\" in template")
    }))

  it.effect("a skip.when that does not parse is an issue at its path", () =>
    Effect.gen(function*() {
      const report = yield* issuesOf(withSkip("topic ==="))
      assert.include(report, "columns[1].skip.when:")
    }))

  it.effect("processors default to none; a filter's stage defaults to post-batch", () =>
    Effect.gen(function*() {
      assert.deepStrictEqual((yield* resolveConfig("config.yaml", valid)).processors, [])
      const loaded = yield* resolveConfig("config.yaml", {
        ...valid,
        processors: [{ name: "f", type: "filter", when: "review == ''" }]
      })
      assert.strictEqual(loaded.processors[0]?.config.stage, "post-batch")
      assert.deepStrictEqual(loaded.processors[0]?.when.references, ["review"])
    }))

  it.effect("a pre-batch filter may read only seed columns", () =>
    Effect.gen(function*() {
      const report = yield* issuesOf({
        ...valid,
        processors: [{ name: "f", type: "filter", stage: "pre-batch", when: "review == ''" }]
      })
      assert.include(report, "processors[0].when: a pre-batch processor runs before column \"review\" is generated")
      yield* resolveConfig("config.yaml", {
        ...valid,
        processors: [{ name: "f", type: "filter", stage: "pre-batch", when: "topic == 'shoes'" }]
      })
    }))

  it.effect("processor names are unique and their columns exist", () =>
    Effect.gen(function*() {
      const report = yield* issuesOf({
        ...valid,
        processors: [
          { name: "f", type: "filter", when: "topic == 'a'" },
          { name: "f", type: "filter", when: "missing" }
        ]
      })
      assert.include(report, "processors[1].name: duplicate processor \"f\"")
      assert.include(report, "processors[1].when: unknown column \"missing\"")
    }))

  it.effect("processors are part of the data identity; a config without them keeps its identity", () =>
    Effect.gen(function*() {
      const plain = yield* resolveConfig("config.yaml", valid)
      const empty = yield* resolveConfig("config.yaml", { ...valid, processors: [] })
      const filtered = yield* resolveConfig("config.yaml", {
        ...valid,
        processors: [{ name: "f", type: "filter", when: "topic == 'a'" }]
      })
      assert.strictEqual(dataIdentityOf(plain.config).hash, dataIdentityOf(empty.config).hash)
      assert.isUndefined(dataIdentityOf(plain.config).fields.processors)
      assert.notStrictEqual(dataIdentityOf(plain.config).hash, dataIdentityOf(filtered.config).hash)
    }))
})
