import { assert, describe, it } from "@effect/vitest"
import { Array as Arr, Effect, Option, Schema } from "effect"
import {
  isRequestDomain,
  makeProviderModelKey,
  makeRequestResourceKey,
  parseProviderModelLabel,
  parseRequestResourceLabel,
  ProviderModelKey,
  providerModelKey,
  ProviderModelKeyOrder,
  providerModelLabel,
  RequestDomain,
  requestDomains,
  RequestResourceKey,
  requestResourceKey,
  RequestResourceKeyOrder,
  requestResourceLabel,
  toProviderModelKey
} from "../src/index.js"
import { expectInvalid } from "./helpers.js"

// The exported interfaces and the Schemas describe the same values.
const pmFromSchema: ProviderModelKey = {} as typeof ProviderModelKey.Type
const pmToSchema: typeof ProviderModelKey.Type = {} as ProviderModelKey
const rrFromSchema: RequestResourceKey = {} as typeof RequestResourceKey.Type
const rrToSchema: typeof RequestResourceKey.Type = {} as RequestResourceKey
const domainFromSchema: RequestDomain = "chat" satisfies typeof RequestDomain.Type

/** Names that try to break labels: separators, escapes, prefixes, unicode. */
const trickyNames = [
  "a",
  "b",
  "/",
  "//",
  "%",
  "%2F",
  "%2f",
  "%25",
  "a/b",
  "b/c",
  "a%2Fb",
  ":",
  "request:",
  "request:a",
  "a:b",
  " ",
  "é",
  "🦀",
  "meta/llama-3",
  "chat"
]

describe("RequestDomain", () => {
  it.effect("lists the four domains and validates them", () =>
    Effect.gen(function*() {
      assert.deepStrictEqual(requestDomains, ["chat", "embedding", "image", "healthcheck"])
      assert.deepStrictEqual(RequestDomain.literals, requestDomains)
      for (const domain of requestDomains) {
        assert.isTrue(isRequestDomain(domain))
        assert.strictEqual(yield* Schema.decodeUnknownEffect(RequestDomain)(domain), domain)
      }
      assert.isFalse(isRequestDomain("audio"))
      assert.isFalse(isRequestDomain("Chat"))
      assert.isFalse(isRequestDomain(undefined))
      assert.strictEqual(domainFromSchema, "chat")
    }))
})

describe("ProviderModelKey", () => {
  it.effect("constructs, validates and labels", () =>
    Effect.gen(function*() {
      const key = providerModelKey("openai", "gpt-4o")
      assert.deepStrictEqual(key, { provider: "openai", model: "gpt-4o" })
      assert.strictEqual(providerModelLabel(key), "openai/gpt-4o")
      assert.deepStrictEqual(yield* makeProviderModelKey({ provider: "openai", model: "gpt-4o" }), key)
      assert.deepStrictEqual(pmFromSchema, pmToSchema)
    }))

  it.effect("names the bad field", () =>
    Effect.gen(function*() {
      yield* expectInvalid(makeProviderModelKey({ provider: "", model: "m" }), "provider", "length of at least 1")
      yield* expectInvalid(makeProviderModelKey({ provider: "p", model: "" }), "model", "length of at least 1")
      yield* expectInvalid(makeProviderModelKey({ provider: "p" }), "model", "Missing key")
      yield* expectInvalid(makeProviderModelKey({ provider: 1, model: "m" }), "provider", "Expected string")
      const error = yield* expectInvalid(makeProviderModelKey("openai/gpt"), "providerModelKey", "Expected object")
      assert.strictEqual(error.value, "openai/gpt")
    }))

  it.effect("escapes '/' and '%' so labels stay unambiguous", () =>
    Effect.sync(() => {
      assert.strictEqual(providerModelLabel(providerModelKey("together", "meta/llama-3")), "together/meta%2Fllama-3")
      assert.strictEqual(providerModelLabel(providerModelKey("together/meta", "llama-3")), "together%2Fmeta/llama-3")
      assert.strictEqual(providerModelLabel(providerModelKey("a%2Fb", "c")), "a%252Fb/c")
      assert.strictEqual(providerModelLabel(providerModelKey("a:b", "c:d")), "a:b/c:d")
      // every pair of tricky names gets its own label, and the label parses back to the pair
      const labels = new Set<string>()
      for (const provider of trickyNames) {
        for (const model of trickyNames) {
          const key = providerModelKey(provider, model)
          const label = providerModelLabel(key)
          labels.add(label)
          assert.deepStrictEqual(parseProviderModelLabel(label), Option.some(key))
        }
      }
      assert.strictEqual(labels.size, trickyNames.length ** 2)
    }))

  it.effect("parses only canonical labels", () =>
    Effect.sync(() => {
      for (const label of ["openai", "a/b/c", "/m", "p/", "", "a/%2f", "a/%", "a/%2", "a/%41"]) {
        assert.isTrue(Option.isNone(parseProviderModelLabel(label)), label)
      }
    }))

  it.effect("orders by provider then model", () =>
    Effect.sync(() => {
      const sorted = Arr.sort(
        [providerModelKey("b", "a"), providerModelKey("a", "b"), providerModelKey("a", "a")],
        ProviderModelKeyOrder
      )
      assert.deepStrictEqual(sorted.map(providerModelLabel), ["a/a", "a/b", "b/a"])
    }))
})

describe("RequestResourceKey", () => {
  it.effect("constructs, validates, labels and projects", () =>
    Effect.gen(function*() {
      const key = requestResourceKey("openai", "text-embedding-3", "embedding")
      assert.deepStrictEqual(key, { provider: "openai", model: "text-embedding-3", domain: "embedding" })
      assert.strictEqual(requestResourceLabel(key), "openai/text-embedding-3/embedding")
      assert.deepStrictEqual(toProviderModelKey(key), providerModelKey("openai", "text-embedding-3"))
      assert.deepStrictEqual(
        yield* makeRequestResourceKey({ provider: "openai", model: "text-embedding-3", domain: "embedding" }),
        key
      )
      assert.deepStrictEqual(rrFromSchema, rrToSchema)
    }))

  it.effect("names the bad field", () =>
    Effect.gen(function*() {
      const error = yield* expectInvalid(
        makeRequestResourceKey({ provider: "p", model: "m", domain: "audio" }),
        "domain",
        "Expected \"chat\" | \"embedding\" | \"image\" | \"healthcheck\", got \"audio\""
      )
      assert.strictEqual(error.value, "audio")
      yield* expectInvalid(makeRequestResourceKey({ provider: "", model: "m", domain: "chat" }), "provider", "length")
      yield* expectInvalid(makeRequestResourceKey({ provider: "p", model: "", domain: "chat" }), "model", "length")
      yield* expectInvalid(makeRequestResourceKey({ provider: "p", model: "m" }), "domain", "Missing key")
      yield* expectInvalid(makeRequestResourceKey(null), "requestResourceKey", "Expected object")
    }))

  it.effect("labels are unambiguous for names containing '/' and ':'", () =>
    Effect.sync(() => {
      assert.strictEqual(
        requestResourceLabel(requestResourceKey("together", "meta/llama-3", "chat")),
        "together/meta%2Fllama-3/chat"
      )
      const labels = new Set<string>()
      for (const provider of trickyNames) {
        for (const model of trickyNames) {
          for (const domain of requestDomains) {
            const key = requestResourceKey(provider, model, domain)
            const label = requestResourceLabel(key)
            labels.add(label)
            assert.deepStrictEqual(parseRequestResourceLabel(label), Option.some(key))
          }
        }
      }
      assert.strictEqual(labels.size, trickyNames.length ** 2 * requestDomains.length)
      assert.isTrue(Option.isNone(parseRequestResourceLabel("p/m/audio")))
      assert.isTrue(Option.isNone(parseRequestResourceLabel("p/m")))
    }))

  it.effect("orders by provider, model, then domain", () =>
    Effect.sync(() => {
      const sorted = Arr.sort(
        [
          requestResourceKey("a", "m", "image"),
          requestResourceKey("a", "m", "chat"),
          requestResourceKey("a", "a", "image")
        ],
        RequestResourceKeyOrder
      )
      assert.deepStrictEqual(sorted.map(requestResourceLabel), ["a/a/image", "a/m/chat", "a/m/image"])
    }))
})
