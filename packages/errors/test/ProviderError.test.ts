import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { TestClock } from "effect/testing"
import {
  ProviderError,
  providerErrorFromHttp,
  providerErrorFromTransport,
  providerErrorFromUnknown,
  redactSecrets
} from "../src/index.js"

const identity = { provider: "acme", model: "m-1" }

describe("providerErrorFromHttp", () => {
  it.effect("reads Retry-After on a 429, whatever the header's case", () =>
    Effect.gen(function*() {
      const error = yield* providerErrorFromHttp({
        ...identity,
        status: 429,
        body: "",
        headers: { "Retry-After": "2.5" }
      })
      assert.strictEqual(error.kind, "rate_limit")
      assert.strictEqual(error.retryAfterSeconds, 2.5)
      assert.strictEqual(error.status, 429)
      assert.strictEqual(error.provider, "acme")
    }))
  it.effect("ignores Retry-After on other statuses", () =>
    Effect.gen(function*() {
      const error = yield* providerErrorFromHttp({ ...identity, status: 500, headers: { "retry-after": "10" } })
      assert.strictEqual(error.kind, "internal_server")
      assert.isUndefined(error.retryAfterSeconds)
    }))
  it.effect("reads an HTTP-date Retry-After against the clock", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(Date.parse("Sun, 06 Nov 1994 08:49:37 GMT"))
      const headers = new Headers({ "retry-after": "Sun, 06 Nov 1994 08:49:44 GMT" })
      const error = yield* providerErrorFromHttp({ ...identity, status: 429, headers })
      assert.strictEqual(error.retryAfterSeconds, 7)
    }))
  it.effect("leaves garbage Retry-After out", () =>
    Effect.gen(function*() {
      const error = yield* providerErrorFromHttp({ ...identity, status: 429, headers: { "retry-after": "later" } })
      assert.isUndefined(error.retryAfterSeconds)
    }))
  it.effect("keeps the body's message, or names provider and status when there is none", () =>
    Effect.gen(function*() {
      const withBody = yield* providerErrorFromHttp({
        ...identity,
        status: 400,
        body: "{\"error\":{\"message\":\"bad temperature\"}}"
      })
      assert.strictEqual(withBody.message, "bad temperature")
      const echoed = yield* providerErrorFromHttp({
        ...identity,
        status: 401,
        body: "{\"error\":{\"message\":\"Incorrect API key provided: sk-test-1234567890abcdef.\"}}"
      })
      assert.strictEqual(echoed.message, "Incorrect API key provided: sk-[redacted].")
      const bare = yield* providerErrorFromHttp({ ...identity, status: 502 })
      assert.strictEqual(bare.message, "Provider 'acme' request failed with status code 502.")
    }))
  it.effect("classifies a quota 429 as quota_exceeded", () =>
    Effect.gen(function*() {
      const error = yield* providerErrorFromHttp({
        ...identity,
        status: 429,
        body: "{\"error\":{\"message\":\"You exceeded your current quota\",\"code\":\"insufficient_quota\"}}",
        headers: { "retry-after": "1" }
      })
      assert.strictEqual(error.kind, "quota_exceeded")
    }))
})

describe("providerErrorFromTransport", () => {
  it("keeps the cause, names the provider, and keeps the OS's words as the provider message", () => {
    const cause = Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:9"), { code: "ECONNREFUSED" })
    const error = providerErrorFromTransport({ ...identity, failure: cause })
    assert.strictEqual(error.kind, "api_connection")
    assert.strictEqual(error.cause, cause)
    assert.isUndefined(error.status)
    assert.include(error.message, "acme")
    assert.strictEqual(error.providerMessage, "connect ECONNREFUSED 127.0.0.1:9")
    assert.instanceOf(error, Error)
  })
  it("redacts keys a failure's text may carry", () => {
    const error = providerErrorFromTransport({
      ...identity,
      failure: new Error("proxy refused Authorization: Bearer sk-live-abcdef123456")
    })
    assert.notInclude(error.message, "abcdef123456")
    assert.notInclude(error.providerMessage ?? "", "abcdef123456")
  })
})

describe("redactSecrets", () => {
  it("removes configured keys, Bearer tokens, sk- keys (masked too) and api_key values", () => {
    assert.strictEqual(
      redactSecrets("key my-own-secret-value here", ["my-own-secret-value"]),
      "key [redacted] here"
    )
    assert.strictEqual(redactSecrets("Authorization: Bearer abc.def-123"), "Authorization: Bearer [redacted]")
    assert.strictEqual(
      redactSecrets("Incorrect API key provided: sk-proj-AbCd1234****wxyz. You can find your API key at …"),
      "Incorrect API key provided: sk-[redacted]. You can find your API key at …"
    )
    assert.strictEqual(redactSecrets("{\"api_key\": \"q1w2e3r4t5\"}"), "{\"api_key\": \"[redacted]\"}")
    assert.strictEqual(redactSecrets("x-api-key=q1w2e3r4t5"), "x-api-key=[redacted]")
  })
  it("leaves ordinary text and short keys alone", () => {
    assert.strictEqual(redactSecrets("connect ECONNREFUSED 127.0.0.1:9", ["ab"]), "connect ECONNREFUSED 127.0.0.1:9")
    assert.strictEqual(redactSecrets("task-runner failed"), "task-runner failed")
  })
})

describe("providerErrorFromUnknown", () => {
  it.effect("reads an SDK error's status, headers and error body", () =>
    Effect.gen(function*() {
      // the shape of openai-node's APIError
      const sdkError = Object.assign(new Error("429 Rate limit reached"), {
        status: 429,
        headers: { "retry-after": "3" },
        error: { message: "Rate limit reached for requests", type: "requests" }
      })
      const error = yield* providerErrorFromUnknown(sdkError, identity)
      assert.strictEqual(error.kind, "rate_limit")
      assert.strictEqual(error.retryAfterSeconds, 3)
      assert.strictEqual(error.message, "Rate limit reached for requests")
    }))
  it.effect("passes a ProviderError through and treats status-less failures as transport", () =>
    Effect.gen(function*() {
      const original = new ProviderError({ kind: "timeout", message: "slow" })
      assert.strictEqual(yield* providerErrorFromUnknown(original, identity), original)
      const transport = yield* providerErrorFromUnknown(new DOMException("aborted", "TimeoutError"), identity)
      assert.strictEqual(transport.kind, "timeout")
    }))
})
