import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import {
  customModelMetadata,
  defaultMaxInFlightTasks,
  type GeneratorScheduling,
  localMetadata,
  metadataForModelAliases,
  modelMetadata,
  type ResolveOptions,
  resolveScheduling,
  ResolverConfigError,
  SchedulingMetadataError
} from "../src/index.js"

const gen = (
  generator: string,
  metadata: unknown,
  outputColumns: ReadonlyArray<string> = [generator]
): GeneratorScheduling => ({
  generator,
  outputColumns,
  metadata
})

const resolveOne = (metadata: unknown, options?: ResolveOptions) =>
  resolveScheduling([gen("col", metadata)], options).pipe(Effect.map((r) => r.generators.get("col")!))

const entriesOf = (request: ReadonlyMap<string, number>) => [...request.entries()]

describe("task groups", () => {
  it.effect("every generator is its own group, even on a shared model", () =>
    Effect.gen(function*() {
      const shared = modelMetadata("openai", "gpt-4o", "chat", 4)
      const { generators } = yield* resolveScheduling([gen("review", shared), gen("verdict", shared)])
      const review = generators.get("review")!.group.key
      const verdict = generators.get("verdict")!.group.key
      assert.deepStrictEqual(review, { kind: "model", identity: "openai/gpt-4o/chat", flow: "review" })
      assert.deepStrictEqual(verdict, { kind: "model", identity: "openai/gpt-4o/chat", flow: "verdict" })
    }))

  it.effect("the flow is the generator's output columns, in order", () =>
    Effect.gen(function*() {
      const { generators } = yield* resolveScheduling([gen("pair", localMetadata(), ["question", "answer"])])
      assert.deepStrictEqual(generators.get("pair")!.group.key, {
        kind: "local",
        identity: "default",
        flow: "question,answer"
      })
    }))

  it.effect("the weight is the metadata weight", () =>
    Effect.gen(function*() {
      assert.strictEqual((yield* resolveOne(modelMetadata("p", "m", "chat", 7))).group.weight, 7)
      assert.strictEqual((yield* resolveOne(customModelMetadata("n", "r", "v", 2))).group.weight, 2)
      assert.strictEqual((yield* resolveOne(localMetadata({ weight: 3 }))).group.weight, 3)
    }))

  it.effect("admittedLimit = max(1, min(maxModelTaskAdmission, 2 × weight)) for model groups", () =>
    Effect.gen(function*() {
      const model3 = modelMetadata("nvidia", "nemotron", "chat", 3)
      assert.strictEqual((yield* resolveOne(model3, { maxModelTaskAdmission: 5 })).group.admittedLimit, 5)
      assert.strictEqual((yield* resolveOne(model3)).group.admittedLimit, 6)
      assert.strictEqual((yield* resolveOne(model3, { maxInFlightTasks: 4 })).group.admittedLimit, 4)
      assert.strictEqual(
        (yield* resolveOne(modelMetadata("p", "m", "chat", 1), { maxModelTaskAdmission: 1 })).group.admittedLimit,
        1
      )
      assert.strictEqual((yield* resolveOne(modelMetadata("p", "m", "chat", 600))).group.admittedLimit, 1024)
    }))

  it.effect("a custom model from two aliases (weight 2) with cap 10 is admitted 4 at once", () =>
    Effect.gen(function*() {
      const metadata = yield* metadataForModelAliases("col", ["a", "b"], [
        { alias: "a", provider: "p", model: "m1", maxParallelRequests: 1 },
        { alias: "b", provider: "p", model: "m2", maxParallelRequests: 1 }
      ])
      const resolved = yield* resolveOne(metadata, { maxModelTaskAdmission: 10 })
      assert.strictEqual(resolved.group.key.kind, "custom_model")
      assert.strictEqual(resolved.group.weight, 2)
      assert.strictEqual(resolved.group.admittedLimit, 4)
    }))

  it.effect("local groups have no admitted limit", () =>
    Effect.gen(function*() {
      assert.notProperty((yield* resolveOne(localMetadata({ weight: 5 }))).group, "admittedLimit")
    }))
})

describe("resource requests", () => {
  it.effect("local: submission only, no request resource", () =>
    Effect.gen(function*() {
      const resolved = yield* resolveOne(localMetadata())
      assert.deepStrictEqual(entriesOf(resolved.request), [["submission", 1]])
      assert.notProperty(resolved, "requestResource")
    }))

  it.effect("model: submission, llm_wait and request:{provider}/{model}, with the request resource", () =>
    Effect.gen(function*() {
      const resolved = yield* resolveOne(modelMetadata("openai", "gpt-4o", "embedding", 4))
      assert.deepStrictEqual(entriesOf(resolved.request), [["submission", 1], ["llm_wait", 1], [
        "request:openai/gpt-4o",
        1
      ]])
      assert.deepStrictEqual(resolved.requestResource, { provider: "openai", model: "gpt-4o", domain: "embedding" })
    }))

  it.effect("custom model: submission and llm_wait, no request resource", () =>
    Effect.gen(function*() {
      const resolved = yield* resolveOne(customModelMetadata("n", "r", "v"))
      assert.deepStrictEqual(entriesOf(resolved.request), [["submission", 1], ["llm_wait", 1]])
      assert.notProperty(resolved, "requestResource")
    }))

  it.effect("a model name with \"/\" gets the escaped canonical key", () =>
    Effect.gen(function*() {
      const resolved = yield* resolveOne(modelMetadata("together", "meta/llama-3", "chat", 2))
      assert.isTrue(resolved.request.has("request:together/meta%2Fllama-3" as never))
    }))
})

describe("limits", () => {
  it.effect("defaults: submission and llm_wait = 1024", () =>
    Effect.gen(function*() {
      const { limits } = yield* resolveScheduling([gen("topic", localMetadata())])
      assert.strictEqual(defaultMaxInFlightTasks, 1024)
      assert.deepStrictEqual(entriesOf(limits), [["submission", 1024], ["llm_wait", 1024]])
    }))

  it.effect("maxInFlightTasks sets both; maxModelTaskAdmission overrides llm_wait", () =>
    Effect.gen(function*() {
      const both = yield* resolveScheduling([gen("topic", localMetadata())], { maxInFlightTasks: 64 })
      assert.deepStrictEqual(entriesOf(both.limits), [["submission", 64], ["llm_wait", 64]])
      const split = yield* resolveScheduling([gen("topic", localMetadata())], {
        maxInFlightTasks: 64,
        maxModelTaskAdmission: 16
      })
      assert.deepStrictEqual(entriesOf(split.limits), [["submission", 64], ["llm_wait", 16]])
    }))

  it.effect("request:{p}/{m} = the smallest weight over the generators on that endpoint", () =>
    Effect.gen(function*() {
      const { limits } = yield* resolveScheduling([
        gen("a", modelMetadata("openai", "gpt-4o", "chat", 8)),
        gen("b", modelMetadata("openai", "gpt-4o", "chat", 3)),
        gen("c", modelMetadata("openai", "gpt-4o", "chat", 5)),
        gen("d", modelMetadata("anthropic", "claude", "chat", 12)),
        gen("e", customModelMetadata("n", "r", "v", 2)),
        gen("f", localMetadata())
      ])
      assert.deepStrictEqual(entriesOf(limits), [
        ["submission", 1024],
        ["llm_wait", 1024],
        ["request:anthropic/claude", 12],
        ["request:openai/gpt-4o", 3]
      ])
    }))

  it.effect("chat and embedding on one provider/model share one request key", () =>
    Effect.gen(function*() {
      const { generators, limits } = yield* resolveScheduling([
        gen("text", modelMetadata("openai", "gpt-4o", "chat", 6)),
        gen("vector", modelMetadata("openai", "gpt-4o", "embedding", 2))
      ])
      assert.deepStrictEqual([...limits.keys()].filter((k) => k.startsWith("request:")), ["request:openai/gpt-4o"])
      assert.strictEqual(limits.get("request:openai/gpt-4o" as never), 2)
      assert.notDeepEqual(generators.get("text")!.requestResource, generators.get("vector")!.requestResource)
    }))
})

describe("metadata handling", () => {
  it.effect("validates metadata it is given, including constructor output", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(
        resolveScheduling([gen("topic", localMetadata()), gen("review", modelMetadata("p", "m", "chat", 0))])
      )
      assert.instanceOf(error, SchedulingMetadataError)
      assert.strictEqual(error._tag, "SchedulingMetadataError")
      if (error._tag !== "SchedulingMetadataError") return
      assert.strictEqual(error.code, "invalid_weight")
      assert.strictEqual(error.field, "weight")
      assert.strictEqual(error.generator, "review")
    }))

  it.effect("decodes raw metadata with the constructors' defaults", () =>
    Effect.gen(function*() {
      assert.deepStrictEqual((yield* resolveOne({ kind: "local" })).metadata, localMetadata())
    }))

  it.effect("uses a metadata error's fallback and reports it in the diagnostics", () =>
    Effect.gen(function*() {
      const missing = yield* Effect.flip(metadataForModelAliases("review", [], []))
      const { capacityPlan, generators } = yield* resolveScheduling([gen("review", missing)])
      const review = generators.get("review")!
      assert.deepStrictEqual(review.metadata, localMetadata())
      assert.deepStrictEqual(entriesOf(review.request), [["submission", 1]])
      assert.strictEqual(capacityPlan.diagnostics.length, 1)
      const [diagnostic] = capacityPlan.diagnostics
      assert.strictEqual(diagnostic?.generator, "review")
      assert.strictEqual(diagnostic?.code, "missing_model_alias")
      assert.include(diagnostic?.message, "fallback local default")
      const weight = capacityPlan.entries.find((e) => e.name === "group:local:default/review.weight")
      assert.strictEqual(weight?.source, "default")
    }))

  it.effect("a metadata error without fallback is fatal, and names the generator", () =>
    Effect.gen(function*() {
      const unknown = yield* Effect.flip(metadataForModelAliases("review", ["ghost"], []))
      const error = yield* Effect.flip(resolveScheduling([gen("review", unknown)]))
      assert.strictEqual(error._tag === "SchedulingMetadataError" && error.code, "alias_resolution_failed")
      const anonymous = new SchedulingMetadataError({ code: "invalid_kind", field: "kind", message: "bad kind" })
      const named = yield* Effect.flip(resolveScheduling([gen("judge", anonymous)]))
      assert.strictEqual(named._tag === "SchedulingMetadataError" && named.generator, "judge")
      assert.include(named.message, "\"judge\"")
    }))

  it.effect("an invalid fallback is fatal", () =>
    Effect.gen(function*() {
      // the error's constructor validates its fallback, so only an error that crossed a boundary as data can carry a bad one
      const fields = { code: "missing_model_alias", field: "aliasNames", message: "none" } as const
      assert.throws(() => new SchedulingMetadataError({ ...fields, fallback: localMetadata({ weight: 1.5 }) }))
      const bad = { _tag: "SchedulingMetadataError", ...fields, fallback: localMetadata({ weight: 1.5 }) }
      const error = yield* Effect.flip(resolveScheduling([gen("review", bad)]))
      assert.strictEqual(error._tag === "SchedulingMetadataError" && error.code, "invalid_weight")
    }))

  it.effect("copies the metadata's own diagnostics into the plan", () =>
    Effect.gen(function*() {
      const metadata = yield* metadataForModelAliases("mixed", ["a", "b"], [
        { alias: "a", provider: "p", model: "m1", maxParallelRequests: 3 },
        { alias: "b", provider: "p", model: "m2", maxParallelRequests: 0 }
      ])
      const { capacityPlan } = yield* resolveScheduling([gen("mixed", metadata)])
      assert.deepStrictEqual(
        capacityPlan.diagnostics.map((d) => [d.generator, d.code]),
        [["mixed", "clamped_max_parallel_requests"], ["mixed", "multi_endpoint_alias_set"]]
      )
    }))
})

describe("configuration errors", () => {
  it.effect("rejects duplicate generator names", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(
        resolveScheduling([gen("a", localMetadata()), gen("b", localMetadata()), gen("a", localMetadata())])
      )
      assert.instanceOf(error, ResolverConfigError)
      assert.strictEqual(error.field, "generators[2].generator")
      assert.include(error.message, "\"a\"")
    }))

  it.effect("rejects an empty generator name and missing output columns", () =>
    Effect.gen(function*() {
      const noName = yield* Effect.flip(resolveScheduling([gen("", localMetadata())]))
      assert.strictEqual(noName.field, "generators[0].generator")
      const noColumns = yield* Effect.flip(resolveScheduling([gen("a", localMetadata(), [])]))
      assert.instanceOf(noColumns, ResolverConfigError)
      assert.strictEqual(noColumns.field, "generators[0].outputColumns")
      const emptyColumn = yield* Effect.flip(resolveScheduling([gen("a", localMetadata(), ["x", ""])]))
      assert.strictEqual(emptyColumn.field, "generators[0].outputColumns")
    }))

  it.effect("rejects options that are not integers ≥ 1", () =>
    Effect.gen(function*() {
      for (const bad of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
        const inFlight = yield* Effect.flip(resolveScheduling([], { maxInFlightTasks: bad }))
        assert.instanceOf(inFlight, ResolverConfigError)
        assert.strictEqual(inFlight.field, "maxInFlightTasks", String(bad))
        const admission = yield* Effect.flip(resolveScheduling([], { maxModelTaskAdmission: bad }))
        assert.strictEqual(admission.field, "maxModelTaskAdmission", String(bad))
      }
      const wrongType = yield* Effect.flip(resolveScheduling([], { maxInFlightTasks: "8" as unknown as number }))
      assert.strictEqual(wrongType.field, "maxInFlightTasks")
    }))

  it.effect("an empty run still has submission and llm_wait limits", () =>
    Effect.gen(function*() {
      const { capacityPlan, generators, limits } = yield* resolveScheduling([])
      assert.strictEqual(generators.size, 0)
      assert.strictEqual(limits.size, 2)
      assert.strictEqual(capacityPlan.entries.length, 2)
    }))
})
