import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import {
  type CapacityPlan,
  customModelMetadata,
  formatCapacityPlan,
  localMetadata,
  modelMetadata,
  recordRuntimeCapacity,
  resolveScheduling
} from "../src/index.js"

const run = [
  { generator: "topic", outputColumns: ["topic"], metadata: localMetadata() },
  { generator: "review", outputColumns: ["review"], metadata: modelMetadata("openai", "gpt-4o", "chat", 3) },
  { generator: "vector", outputColumns: ["vector"], metadata: modelMetadata("openai", "gpt-4o", "embedding", 8) },
  { generator: "score", outputColumns: ["score"], metadata: customModelMetadata("plugin", "scorer", "v1", 2) }
]

describe("capacity plan entries", () => {
  it.effect("records every value with its source, defaults first", () =>
    Effect.gen(function*() {
      const { capacityPlan } = yield* resolveScheduling(run)
      assert.deepStrictEqual(capacityPlan.entries, [
        { name: "submission", value: 1024, source: "default", detail: "maxInFlightTasks (default)" },
        {
          name: "llm_wait",
          value: 1024,
          source: "default",
          detail: "maxModelTaskAdmission = maxInFlightTasks (default)"
        },
        {
          name: "request:openai/gpt-4o",
          value: 3,
          source: "model_metadata",
          detail: "min weight over review (chat, 3), vector (embedding, 8)"
        },
        {
          name: "group:local:default/topic.weight",
          value: 1,
          source: "model_metadata",
          detail: "local metadata of topic"
        },
        {
          name: "group:model:openai%2Fgpt-4o%2Fchat/review.weight",
          value: 3,
          source: "model_metadata",
          detail: "model metadata of review"
        },
        {
          name: "group:model:openai%2Fgpt-4o%2Fchat/review.admittedLimit",
          value: 6,
          source: "model_metadata",
          detail: "2 × weight 3"
        },
        {
          name: "group:model:openai%2Fgpt-4o%2Fembedding/vector.weight",
          value: 8,
          source: "model_metadata",
          detail: "model metadata of vector"
        },
        {
          name: "group:model:openai%2Fgpt-4o%2Fembedding/vector.admittedLimit",
          value: 16,
          source: "model_metadata",
          detail: "2 × weight 8"
        },
        {
          name: "group:custom_model:plugin%2Fscorer%2Fv1/score.weight",
          value: 2,
          source: "model_metadata",
          detail: "custom_model metadata of score"
        },
        {
          name: "group:custom_model:plugin%2Fscorer%2Fv1/score.admittedLimit",
          value: 4,
          source: "model_metadata",
          detail: "2 × weight 2"
        }
      ])
      assert.deepStrictEqual(capacityPlan.diagnostics, [])
    }))

  it.effect("configured values are recorded with source config, and a binding cap names its option", () =>
    Effect.gen(function*() {
      const { capacityPlan } = yield* resolveScheduling(run, { maxInFlightTasks: 12, maxModelTaskAdmission: 5 })
      const byName = new Map(capacityPlan.entries.map((e) => [e.name, e]))
      assert.deepStrictEqual(byName.get("submission"), {
        name: "submission",
        value: 12,
        source: "config",
        detail: "maxInFlightTasks"
      })
      assert.deepStrictEqual(byName.get("llm_wait"), {
        name: "llm_wait",
        value: 5,
        source: "config",
        detail: "maxModelTaskAdmission"
      })
      assert.deepStrictEqual(byName.get("group:model:openai%2Fgpt-4o%2Fembedding/vector.admittedLimit"), {
        name: "group:model:openai%2Fgpt-4o%2Fembedding/vector.admittedLimit",
        value: 5,
        source: "config",
        detail: "maxModelTaskAdmission (< 2 × weight 8)"
      })
      // 2 × 2 = 4 ≤ 5: still the metadata's value
      assert.strictEqual(
        byName.get("group:custom_model:plugin%2Fscorer%2Fv1/score.admittedLimit")?.source,
        "model_metadata"
      )
    }))

  it.effect("maxInFlightTasks alone configures llm_wait too", () =>
    Effect.gen(function*() {
      const { capacityPlan } = yield* resolveScheduling([], { maxInFlightTasks: 32 })
      assert.deepStrictEqual(capacityPlan.entries[1], {
        name: "llm_wait",
        value: 32,
        source: "config",
        detail: "maxModelTaskAdmission = maxInFlightTasks"
      })
    }))
})

const plan: CapacityPlan = {
  entries: [
    { name: "submission", value: 1024, source: "default" },
    { name: "request:openai/gpt-4o", value: 8, source: "model_metadata", detail: "min weight over review (chat, 8)" },
    { name: "group:x.weight", value: 1, source: "model_metadata" }
  ],
  diagnostics: []
}

describe("recordRuntimeCapacity", () => {
  it("adds a runtime entry right after the planned entry of the same name, keeping both", () => {
    const next = recordRuntimeCapacity(plan, { name: "request:openai/gpt-4o", value: 6, detail: "AIMD decrease" })
    assert.deepStrictEqual(next.entries.map((e) => [e.name, e.value, e.source]), [
      ["submission", 1024, "default"],
      ["request:openai/gpt-4o", 8, "model_metadata"],
      ["request:openai/gpt-4o", 6, "runtime"],
      ["group:x.weight", 1, "model_metadata"]
    ])
    assert.strictEqual(next.entries[2]?.detail, "AIMD decrease")
    assert.strictEqual(plan.entries.length, 3, "the input plan is not mutated")
  })
  it("replaces an earlier runtime value of the same name in place", () => {
    const once = recordRuntimeCapacity(plan, { name: "request:openai/gpt-4o", value: 6 })
    const twice = recordRuntimeCapacity(once, { name: "request:openai/gpt-4o", value: 7 })
    assert.deepStrictEqual(twice.entries.map((e) => [e.value, e.source]), [
      [1024, "default"],
      [8, "model_metadata"],
      [7, "runtime"],
      [1, "model_metadata"]
    ])
  })
  it("appends a value with no planned entry, and keeps the diagnostics", () => {
    const withNote: CapacityPlan = { ...plan, diagnostics: [{ generator: "g", code: "c", message: "m" }] }
    const next = recordRuntimeCapacity(withNote, { name: "request:anthropic/claude", value: 4 })
    assert.deepStrictEqual(next.entries.at(-1), { name: "request:anthropic/claude", value: 4, source: "runtime" })
    assert.deepStrictEqual(next.diagnostics, withNote.diagnostics)
  })
})

describe("formatCapacityPlan", () => {
  it("prints an aligned table and no diagnostics", () => {
    assert.strictEqual(
      formatCapacityPlan(plan),
      [
        "resource               value  source          detail",
        "---------------------  -----  --------------  --------------------------------",
        "submission             1024   default",
        "request:openai/gpt-4o  8      model_metadata  min weight over review (chat, 8)",
        "group:x.weight         1      model_metadata",
        "",
        "diagnostics: none"
      ].join("\n")
    )
  })
  it("lists diagnostics one per line with generator and code", () => {
    const text = formatCapacityPlan({
      entries: [{ name: "submission", value: 1, source: "config" }],
      diagnostics: [
        {
          generator: "review",
          code: "missing_model_alias",
          message: "no alias; using fallback local default (weight 1)"
        },
        { generator: "mixed", code: "multi_endpoint_alias_set", message: "2 endpoints" }
      ]
    })
    assert.strictEqual(
      text,
      [
        "resource    value  source  detail",
        "----------  -----  ------  ------",
        "submission  1      config",
        "",
        "diagnostics:",
        "- review [missing_model_alias] no alias; using fallback local default (weight 1)",
        "- mixed [multi_endpoint_alias_set] 2 endpoints"
      ].join("\n")
    )
  })
})
