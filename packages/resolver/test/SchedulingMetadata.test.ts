import { assert, describe, it } from "@effect/vitest"
import { Effect, Schema } from "effect"
import {
  customModelMetadata,
  decodeSchedulingMetadata,
  describeMetadata,
  localMetadata,
  metadataIdentity,
  modelMetadata,
  requestResourceOf,
  SchedulingMetadata,
  SchedulingMetadataError
} from "../src/index.js"

const model = { kind: "model", provider: "openai", model: "gpt-4o", domain: "chat", weight: 4 } as const
const custom = { kind: "custom_model", namespace: "plugin", resource: "scorer", version: "v2", weight: 3 } as const

const decodeError = (input: unknown, generator?: string) => Effect.flip(decodeSchedulingMetadata(input, generator))

describe("constructors", () => {
  it("localMetadata defaults to resource \"default\" and weight 1", () => {
    assert.deepStrictEqual(localMetadata(), { kind: "local", resource: "default", weight: 1 })
    assert.deepStrictEqual(localMetadata({ resource: "cpu" }), { kind: "local", resource: "cpu", weight: 1 })
    assert.deepStrictEqual(localMetadata({ weight: 3 }), { kind: "local", resource: "default", weight: 3 })
  })
  it("modelMetadata keeps provider, model, domain and weight", () => {
    assert.deepStrictEqual(modelMetadata("openai", "gpt-4o", "chat", 4), model)
  })
  it("customModelMetadata defaults weight to 1", () => {
    assert.deepStrictEqual(customModelMetadata("plugin", "scorer", "v2"), { ...custom, weight: 1 })
    assert.deepStrictEqual(customModelMetadata("plugin", "scorer", "v2", 3), custom)
  })
})

describe("decodeSchedulingMetadata", () => {
  it.effect("accepts every kind unchanged", () =>
    Effect.gen(function*() {
      assert.deepStrictEqual(yield* decodeSchedulingMetadata(model), model)
      assert.deepStrictEqual(yield* decodeSchedulingMetadata(custom), custom)
      assert.deepStrictEqual(yield* decodeSchedulingMetadata(localMetadata({ resource: "cpu", weight: 2 })), {
        kind: "local",
        resource: "cpu",
        weight: 2
      })
      const withNotes = { ...model, diagnostics: [{ code: "note", message: "kept" }] }
      assert.deepStrictEqual(yield* decodeSchedulingMetadata(withNotes), withNotes)
    }))

  it.effect("applies the constructors' defaults to absent fields only", () =>
    Effect.gen(function*() {
      assert.deepStrictEqual(yield* decodeSchedulingMetadata({ kind: "local" }), localMetadata())
      assert.deepStrictEqual(
        yield* decodeSchedulingMetadata({ kind: "custom_model", namespace: "n", resource: "r", version: "v" }),
        customModelMetadata("n", "r", "v")
      )
      const nullResource = yield* decodeError({ kind: "local", resource: null })
      assert.strictEqual(nullResource.code, "invalid_identity")
      assert.strictEqual(nullResource.field, "resource")
      const { weight: _, ...noWeight } = model
      const missing = yield* decodeError(noWeight)
      assert.strictEqual(missing.code, "invalid_weight")
      assert.strictEqual(missing.field, "weight")
    }))

  it.effect("rejects a missing or unknown kind with invalid_kind", () =>
    Effect.gen(function*() {
      for (
        const input of [null, undefined, 3, "model", [model], {}, { ...model, kind: "remote" }, { ...model, kind: 1 }]
      ) {
        const error = yield* decodeError(input)
        assert.instanceOf(error, SchedulingMetadataError)
        assert.strictEqual(error.code, "invalid_kind")
        assert.strictEqual(error.field, "kind")
        assert.isUndefined(error.fallback)
      }
    }))

  it.effect("rejects a weight that is not a positive integer with invalid_weight", () =>
    Effect.gen(function*() {
      for (const weight of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, true, false, "2", null, 2 ** 53]) {
        for (const input of [{ ...model, weight }, { ...custom, weight }, { kind: "local", weight }]) {
          const error = yield* decodeError(input)
          assert.strictEqual(error.code, "invalid_weight", `${input.kind} ${String(weight)}`)
          assert.strictEqual(error.field, "weight")
        }
      }
    }))

  it.effect("rejects each empty or non-string identity part with invalid_identity naming it", () =>
    Effect.gen(function*() {
      const cases: ReadonlyArray<readonly [object, string]> = [
        [{ kind: "local", resource: "" }, "resource"],
        [{ kind: "local", resource: 7 }, "resource"],
        [{ ...model, provider: "" }, "provider"],
        [{ ...model, model: "" }, "model"],
        [{ ...model, model: undefined }, "model"],
        [{ ...custom, namespace: "" }, "namespace"],
        [{ ...custom, resource: "" }, "resource"],
        [{ ...custom, version: "" }, "version"]
      ]
      for (const [input, field] of cases) {
        const error = yield* decodeError(input)
        assert.strictEqual(error.code, "invalid_identity", field)
        assert.strictEqual(error.field, field)
      }
    }))

  it.effect("rejects a domain that is not a request domain with unknown_generation_kind", () =>
    Effect.gen(function*() {
      for (const domain of ["rerank", "chat-completion", "", undefined]) {
        const error = yield* decodeError({ ...model, domain })
        assert.strictEqual(error.code, "unknown_generation_kind")
        assert.strictEqual(error.field, "domain")
      }
    }))

  it.effect("names the generator and the rejected value in the message", () =>
    Effect.gen(function*() {
      const error = yield* decodeError({ ...model, weight: 2.5 }, "review")
      assert.strictEqual(error.generator, "review")
      assert.include(error.message, "\"review\"")
      assert.include(error.message, "weight")
      assert.include(error.message, "2.5")
      assert.isUndefined((yield* decodeError({ ...model, weight: 0 })).generator)
    }))
})

describe("SchedulingMetadata schema", () => {
  it("accepts canonical metadata and rejects what the decoder rejects", () => {
    const is = Schema.is(SchedulingMetadata)
    assert.isTrue(is(model))
    assert.isTrue(is(custom))
    assert.isTrue(is(localMetadata()))
    assert.isFalse(is({ ...model, weight: true }))
    assert.isFalse(is({ ...model, weight: 0.5 }))
    assert.isFalse(is({ ...custom, version: "" }))
    assert.isFalse(is({ kind: "local" }))
  })
})

describe("identity", () => {
  it("is the resource, the request resource label, or namespace/resource/version", () => {
    assert.strictEqual(metadataIdentity(localMetadata()), "default")
    assert.strictEqual(metadataIdentity(modelMetadata("openai", "gpt-4o", "chat", 4)), "openai/gpt-4o/chat")
    assert.strictEqual(metadataIdentity(customModelMetadata("plugin", "scorer", "v2")), "plugin/scorer/v2")
  })
  it("escapes \"/\" so different identities never collide, and ignores the weight", () => {
    assert.notStrictEqual(
      metadataIdentity(customModelMetadata("a/b", "c", "v")),
      metadataIdentity(customModelMetadata("a", "b/c", "v"))
    )
    assert.strictEqual(
      metadataIdentity(modelMetadata("together", "meta/llama", "chat", 1)),
      "together/meta%2Fllama/chat"
    )
    assert.strictEqual(
      metadataIdentity(modelMetadata("openai", "gpt-4o", "chat", 1)),
      metadataIdentity(modelMetadata("openai", "gpt-4o", "chat", 9))
    )
  })
  it("only model metadata has a request resource", () => {
    assert.deepStrictEqual(requestResourceOf(modelMetadata("openai", "gpt-4o", "embedding", 4)), {
      provider: "openai",
      model: "gpt-4o",
      domain: "embedding"
    })
    assert.isUndefined(requestResourceOf(customModelMetadata("plugin", "scorer", "v2")))
    assert.isUndefined(requestResourceOf(localMetadata()))
  })
  it("describes metadata in one line", () => {
    assert.strictEqual(
      describeMetadata(modelMetadata("openai", "gpt-4o", "chat", 4)),
      "model openai/gpt-4o/chat (weight 4)"
    )
  })
})
