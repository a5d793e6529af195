import { assert, describe, it } from "@effect/vitest"
import { Effect, Option, Schema } from "effect"
import {
  checkRequestWithinLimits,
  llmWaitResource,
  makeSchedulerResourceKey,
  makeSchedulerResourceLimits,
  makeSchedulerResourceRequest,
  parseRequestCapacityResource,
  parseRequestDomainResource,
  providerModelKey,
  requestCapacityResource,
  requestDomainResource,
  requestResourceKey,
  ResourceAmount,
  SchedulerResourceKey,
  submissionResource
} from "../src/index.js"
import type { SchedulerResourceEntries } from "../src/index.js"
import { expectInvalid } from "./helpers.js"

describe("SchedulerResourceKey", () => {
  it.effect("names the well-known resources", () =>
    Effect.sync(() => {
      assert.strictEqual(submissionResource, "submission")
      assert.strictEqual(llmWaitResource, "llm_wait")
      assert.strictEqual(requestCapacityResource(providerModelKey("openai", "gpt-4o")), "request:openai/gpt-4o")
      assert.strictEqual(
        requestCapacityResource(providerModelKey("together", "meta/llama-3")),
        "request:together/meta%2Fllama-3"
      )
    }))

  it.effect("parses request capacity keys back, and only those", () =>
    Effect.sync(() => {
      for (
        const [provider, model] of [
          ["openai", "gpt-4o"],
          ["together", "meta/llama-3"],
          ["a/b", "c"],
          ["a", "b/c"],
          ["request:x", "y:z"],
          ["%", "%2F"]
        ] as const
      ) {
        const key = providerModelKey(provider, model)
        assert.deepStrictEqual(parseRequestCapacityResource(requestCapacityResource(key)), Option.some(key))
      }
      assert.notStrictEqual(
        requestCapacityResource(providerModelKey("a/b", "c")),
        requestCapacityResource(providerModelKey("a", "b/c"))
      )
      assert.isTrue(Option.isNone(parseRequestCapacityResource(submissionResource)))
      assert.isTrue(Option.isNone(parseRequestCapacityResource(llmWaitResource)))
    }))

  it.effect("names one request key per provider/model/domain, parsed back by its own parser only", () =>
    Effect.gen(function*() {
      const chat = requestDomainResource(requestResourceKey("together", "meta/llama-3", "chat"))
      assert.strictEqual(chat, "request:together/meta%2Fllama-3/chat")
      assert.strictEqual(
        requestDomainResource(requestResourceKey("openai", "e3", "embedding")),
        "request:openai/e3/embedding"
      )
      assert.deepStrictEqual(
        parseRequestDomainResource(chat),
        Option.some(requestResourceKey("together", "meta/llama-3", "chat"))
      )
      assert.isTrue(Option.isNone(parseRequestCapacityResource(chat)))
      assert.isTrue(Option.isNone(parseRequestDomainResource(requestCapacityResource(providerModelKey("p", "m")))))
      assert.isTrue(Option.isNone(parseRequestDomainResource(submissionResource)))
      assert.strictEqual(yield* makeSchedulerResourceKey(chat), chat)
      yield* expectInvalid(makeSchedulerResourceKey("request:p/m/video"), "key", "request:{provider}/{model}/{domain}")
    }))

  it.effect("validates keys", () =>
    Effect.gen(function*() {
      for (const key of ["submission", "llm_wait", "local", "request:openai/gpt-4o", "request:t/meta%2Fllama-3"]) {
        assert.strictEqual(yield* makeSchedulerResourceKey(key), key)
        assert.isTrue(Schema.is(SchedulerResourceKey)(key))
      }
      yield* expectInvalid(makeSchedulerResourceKey(""), "key", "Expected a non-empty resource key")
      yield* expectInvalid(makeSchedulerResourceKey(3), "key", "Expected string")
      for (const bad of ["request:", "request:openai", "request:a/b/c", "request:/m", "request:p/", "request:p/%2f"]) {
        yield* expectInvalid(makeSchedulerResourceKey(bad), "key", "request:{provider}/{model}")
      }
    }))
})

describe("SchedulerResourceRequest", () => {
  it.effect("accepts entries, maps and records, keeping the given order", () =>
    Effect.gen(function*() {
      const gpt = requestCapacityResource(providerModelKey("openai", "gpt-4o"))
      const fromEntries = yield* makeSchedulerResourceRequest([[submissionResource, 1], [llmWaitResource, 1], [gpt, 2]])
      assert.deepStrictEqual([...fromEntries], [["submission", 1], ["llm_wait", 1], ["request:openai/gpt-4o", 2]])
      const fromMap = yield* makeSchedulerResourceRequest(new Map([["submission", 1], ["llm_wait", 1], [gpt, 2]]))
      assert.deepStrictEqual([...fromMap], [...fromEntries])
      const fromRecord = yield* makeSchedulerResourceRequest({ submission: 1, llm_wait: 1, [gpt]: 2 })
      assert.deepStrictEqual([...fromRecord], [...fromEntries])
      assert.strictEqual(fromEntries.get(submissionResource), 1)
      // a Map, so keys that are special on plain objects are ordinary keys
      const proto = yield* makeSchedulerResourceRequest([["__proto__", 1]])
      assert.deepStrictEqual([...proto], [["__proto__", 1]])
    }))

  it.effect("names the offending entry", () =>
    Effect.gen(function*() {
      yield* expectInvalid(
        makeSchedulerResourceRequest({ "": 1 }),
        "request[\"\"]",
        "Expected a non-empty resource key"
      )
      yield* expectInvalid(
        makeSchedulerResourceRequest({ submission: 0 }),
        "request[\"submission\"]",
        "Expected a positive integer, got 0"
      )
      yield* expectInvalid(
        makeSchedulerResourceRequest({ llm_wait: -1 }),
        "request[\"llm_wait\"]",
        "Expected a positive integer, got -1"
      )
      const fractional = yield* expectInvalid(
        makeSchedulerResourceRequest([["submission", 1], ["request:openai/gpt", 1.5]]),
        "request[\"request:openai/gpt\"]",
        "Expected a positive integer, got 1.5"
      )
      assert.strictEqual(fractional.value, 1.5)
      for (const amount of [Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53]) {
        yield* expectInvalid(
          makeSchedulerResourceRequest({ submission: amount }),
          "request[\"submission\"]",
          "positive"
        )
      }
      yield* expectInvalid(
        makeSchedulerResourceRequest({ submission: "1" } as unknown as SchedulerResourceEntries),
        "request[\"submission\"]",
        "Expected number"
      )
      yield* expectInvalid(
        makeSchedulerResourceRequest({ "request:a/b/c": 1 }),
        "request[\"request:a/b/c\"]",
        "request:{provider}/{model}"
      )
      yield* expectInvalid(
        makeSchedulerResourceRequest([["submission", 1], ["submission", 2]]),
        "request[\"submission\"]",
        "Expected each resource key once"
      )
      yield* expectInvalid(makeSchedulerResourceRequest([]), "request", "Expected at least one resource")
      yield* expectInvalid(makeSchedulerResourceRequest({}), "request", "Expected at least one resource")
      yield* expectInvalid(
        makeSchedulerResourceRequest([["submission", 1], ["llm_wait"]] as unknown as SchedulerResourceEntries),
        "request[1]",
        "Expected a [key, amount] entry"
      )
      yield* expectInvalid(
        makeSchedulerResourceRequest([[1, 1]] as unknown as SchedulerResourceEntries),
        "request[0]",
        "Expected a [key, amount] entry"
      )
      yield* expectInvalid(
        makeSchedulerResourceRequest(null as unknown as SchedulerResourceEntries),
        "request",
        "Expected [key, amount] entries or a record"
      )
    }))

  it.effect("amounts are positive safe integers", () =>
    Effect.sync(() => {
      const is = Schema.is(ResourceAmount)
      assert.isTrue(is(1))
      assert.isTrue(is(Number.MAX_SAFE_INTEGER))
      for (const bad of [0, -0, -1, 0.5, Number.NaN, Infinity, 2 ** 53, "1", null]) assert.isFalse(is(bad), String(bad))
    }))
})

describe("SchedulerResourceLimits", () => {
  it.effect("validates like a request, but may be empty", () =>
    Effect.gen(function*() {
      const limits = yield* makeSchedulerResourceLimits({ submission: 1024, llm_wait: 1024, "request:openai/gpt": 32 })
      assert.deepStrictEqual([...limits], [["submission", 1024], ["llm_wait", 1024], ["request:openai/gpt", 32]])
      assert.strictEqual((yield* makeSchedulerResourceLimits([])).size, 0)
      yield* expectInvalid(makeSchedulerResourceLimits({ submission: 0 }), "limits[\"submission\"]", "positive integer")
      yield* expectInvalid(makeSchedulerResourceLimits({ llm_wait: 2.5 }), "limits[\"llm_wait\"]", "got 2.5")
      yield* expectInvalid(makeSchedulerResourceLimits({ "": 1 }), "limits[\"\"]", "non-empty")
      yield* expectInvalid(makeSchedulerResourceLimits([["a", 1], ["a", 1]]), "limits[\"a\"]", "once")
    }))

  it.effect("checkRequestWithinLimits finds requests that could never be admitted", () =>
    Effect.gen(function*() {
      const limits = yield* makeSchedulerResourceLimits({ submission: 4, llm_wait: 2 })
      yield* checkRequestWithinLimits(yield* makeSchedulerResourceRequest({ submission: 1, llm_wait: 2 }), limits)
      yield* expectInvalid(
        checkRequestWithinLimits(yield* makeSchedulerResourceRequest({ submission: 1, "request:p/m": 1 }), limits),
        "request[\"request:p/m\"]",
        "Expected a limit for resource \"request:p/m\""
      )
      yield* expectInvalid(
        checkRequestWithinLimits(yield* makeSchedulerResourceRequest({ llm_wait: 3 }), limits),
        "request[\"llm_wait\"]",
        "Expected at most 2"
      )
    }))
})
