import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import {
  aliasSetResource,
  customModelMetadata,
  localMetadata,
  metadataForModelAliases,
  type ModelAlias,
  modelMetadata,
  requestDomainOfGenerationKind
} from "../src/index.js"

const aliases: ReadonlyArray<ModelAlias> = [
  { alias: "writer", provider: "openai", model: "gpt-4o", maxParallelRequests: 8 },
  { alias: "judge", provider: "openai", model: "gpt-4o", maxParallelRequests: 4, generationKind: "chat-completion" },
  { alias: "embedder", provider: "openai", model: "te-3", maxParallelRequests: 16, generationKind: "embedding" },
  { alias: "painter", provider: "local", model: "sdxl", maxParallelRequests: 2, generationKind: "image" }
]

const fromAliases = (names: ReadonlyArray<string>, configured: ReadonlyArray<ModelAlias> = aliases) =>
  metadataForModelAliases("column", names, configured)

describe("metadataForModelAliases: one endpoint", () => {
  it.effect("weight = the smallest cap over every configured alias on the provider/model", () =>
    Effect.gen(function*() {
      // only "writer" (8) is named, but "judge" (4) is on the same provider/model
      assert.deepStrictEqual(yield* fromAliases(["writer"]), modelMetadata("openai", "gpt-4o", "chat", 4))
      assert.deepStrictEqual(yield* fromAliases(["writer", "judge"]), modelMetadata("openai", "gpt-4o", "chat", 4))
      // alone on its endpoint, an alias keeps its own cap
      assert.deepStrictEqual(
        yield* fromAliases(["writer"], aliases.slice(0, 1)),
        modelMetadata("openai", "gpt-4o", "chat", 8)
      )
      assert.deepStrictEqual(yield* fromAliases(["painter"]), modelMetadata("local", "sdxl", "image", 2))
    }))

  it.effect("a same-model alias in another domain also lowers the cap (one static cap per provider/model)", () =>
    Effect.gen(function*() {
      const configured: ReadonlyArray<ModelAlias> = [
        { alias: "chat", provider: "p", model: "m", maxParallelRequests: 10 },
        { alias: "embed", provider: "p", model: "m", maxParallelRequests: 3, generationKind: "embedding" },
        { alias: "other", provider: "p", model: "n", maxParallelRequests: 1 }
      ]
      assert.deepStrictEqual(yield* fromAliases(["chat"], configured), modelMetadata("p", "m", "chat", 3))
    }))

  it.effect("chat-completion, chat and an absent kind all map to the chat domain", () =>
    Effect.gen(function*() {
      assert.strictEqual(requestDomainOfGenerationKind("chat-completion"), "chat")
      assert.strictEqual(requestDomainOfGenerationKind("chat"), "chat")
      assert.strictEqual(requestDomainOfGenerationKind(undefined), "chat")
      assert.strictEqual(requestDomainOfGenerationKind("embedding"), "embedding")
      assert.strictEqual(requestDomainOfGenerationKind("image"), "image")
      assert.isUndefined(requestDomainOfGenerationKind("healthcheck"))
      assert.isUndefined(requestDomainOfGenerationKind("toString"))
      const judge = yield* fromAliases(["judge"])
      assert.strictEqual(judge.kind === "model" && judge.domain, "chat")
      // "writer" (no kind) and "judge" (chat-completion) are one endpoint, not two
      assert.strictEqual((yield* fromAliases(["judge", "writer"])).kind, "model")
    }))

  it.effect("deduplicates the alias names", () =>
    Effect.gen(function*() {
      assert.deepStrictEqual(yield* fromAliases(["painter", "painter"]), modelMetadata("local", "sdxl", "image", 2))
    }))

  it.effect("clamps a cap below 1 or not an integer to 1, with a diagnostic", () =>
    Effect.gen(function*() {
      for (const raw of [0, -3, 2.5, Number.NaN]) {
        const metadata = yield* fromAliases(["a"], [{
          alias: "a",
          provider: "p",
          model: "m",
          maxParallelRequests: raw
        }])
        assert.strictEqual(metadata.kind, "model")
        assert.strictEqual(metadata.weight, 1, String(raw))
        assert.deepStrictEqual(metadata.diagnostics?.map((d) => d.code), ["clamped_max_parallel_requests"])
        assert.include(metadata.diagnostics?.[0]?.message, "\"a\"")
      }
      // a clamped alias the column does not name still lowers the shared cap, and is reported
      const shared = yield* fromAliases(["a"], [
        { alias: "a", provider: "p", model: "m", maxParallelRequests: 5 },
        { alias: "b", provider: "p", model: "m", maxParallelRequests: 0 },
        { alias: "c", provider: "q", model: "m", maxParallelRequests: 0 }
      ])
      assert.strictEqual(shared.weight, 1)
      assert.strictEqual(shared.diagnostics?.length, 1)
      assert.include(shared.diagnostics?.[0]?.message, "\"b\"")
      // a valid cap leaves no diagnostics field at all
      assert.notProperty(yield* fromAliases(["painter"]), "diagnostics")
    }))
})

describe("metadataForModelAliases: several endpoints", () => {
  it.effect("falls back to custom_model alias-set with the sum of caps and a diagnostic", () =>
    Effect.gen(function*() {
      const metadata = yield* fromAliases(["writer", "embedder"])
      const { diagnostics, ...rest } = metadata
      assert.deepStrictEqual(rest, customModelMetadata("alias-set", "embedder,writer", "v1", 8 + 16))
      assert.deepStrictEqual(diagnostics?.map((d) => d.code), ["multi_endpoint_alias_set"])
      assert.include(diagnostics?.[0]?.message, "openai/gpt-4o/chat")
      assert.include(diagnostics?.[0]?.message, "openai/te-3/embedding")
    }))

  it.effect("the resource is stable whatever the order and repetition of the aliases", () =>
    Effect.gen(function*() {
      const a = yield* fromAliases(["painter", "writer", "judge"])
      const b = yield* fromAliases(["judge", "painter", "writer", "judge"])
      assert.strictEqual(a.kind === "custom_model" && a.resource, "judge,painter,writer")
      assert.strictEqual(b.kind === "custom_model" && b.resource, "judge,painter,writer")
      assert.strictEqual(a.weight, 8 + 4 + 2)
      assert.strictEqual(aliasSetResource(["b", "a", "b"]), "a,b")
      assert.notStrictEqual(aliasSetResource(["a,b"]), aliasSetResource(["a", "b"]))
    }))
})

describe("metadataForModelAliases: failures", () => {
  it.effect("no alias → missing_model_alias with the local fallback", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(fromAliases([]))
      assert.strictEqual(error.code, "missing_model_alias")
      assert.strictEqual(error.field, "aliasNames")
      assert.strictEqual(error.generator, "column")
      assert.deepStrictEqual(error.fallback, localMetadata())
    }))

  it.effect("an unknown alias → alias_resolution_failed without fallback", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(fromAliases(["writer", "ghost"]))
      assert.strictEqual(error.code, "alias_resolution_failed")
      assert.strictEqual(error.field, "aliasNames[1]")
      assert.include(error.message, "\"ghost\"")
      assert.isUndefined(error.fallback)
    }))

  it.effect("an alias configured twice → alias_resolution_failed", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(
        fromAliases(["writer"], [...aliases, { ...aliases[0]!, maxParallelRequests: 1 }])
      )
      assert.strictEqual(error.code, "alias_resolution_failed")
      assert.strictEqual(error.field, "aliases[4].alias")
      assert.isUndefined(error.fallback)
    }))

  it.effect("an unknown generation kind → unknown_generation_kind naming the alias field", () =>
    Effect.gen(function*() {
      const bad = { alias: "r", provider: "p", model: "m", maxParallelRequests: 1, generationKind: "rerank" }
      const error = yield* Effect.flip(fromAliases(["r"], [bad as unknown as ModelAlias]))
      assert.strictEqual(error.code, "unknown_generation_kind")
      assert.strictEqual(error.field, "aliases[0].generationKind")
    }))

  it.effect("an empty provider or model → invalid_identity naming the alias field", () =>
    Effect.gen(function*() {
      const noProvider = yield* Effect.flip(
        fromAliases(["a"], [{ alias: "a", provider: "", model: "m", maxParallelRequests: 1 }])
      )
      assert.strictEqual(noProvider.code, "invalid_identity")
      assert.strictEqual(noProvider.field, "aliases[0].provider")
      const noModel = yield* Effect.flip(
        fromAliases(["a"], [{ alias: "a", provider: "p", model: "", maxParallelRequests: 1 }])
      )
      assert.strictEqual(noModel.field, "aliases[0].model")
    }))
})
