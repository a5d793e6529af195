import { APICallError, LoadAPIKeyError, NoSuchModelError, TypeValidationError } from "@ai-sdk/provider"
import { assert, describe, it } from "@effect/vitest"
import { RetryError } from "ai"
import { Cause, Duration, Effect } from "effect"
import { AiError } from "effect/ai"
import { TestClock } from "effect/testing"
import OpenAI from "openai"
import {
  fromAiSdkError,
  fromEffectAiError,
  fromOpenAiError,
  isAiSdkError,
  isEffectAiError,
  isOpenAiError,
  ProviderError,
  providerErrorFromSdk,
  retryAfterFromHeaders
} from "../src/index.js"

// The SDKs' own error classes, built the way the SDKs build them, without a network.

const identity = { provider: "acme", model: "m-1" }

const summary = (error: ProviderError) => ({
  kind: error.kind,
  status: error.status,
  retryAfterSeconds: error.retryAfterSeconds,
  message: error.message
})

describe("retryAfterFromHeaders", () => {
  it.effect("prefers retry-after-ms, falls back to Retry-After, caps both", () =>
    Effect.gen(function*() {
      assert.strictEqual(yield* retryAfterFromHeaders({ "retry-after-ms": "250", "retry-after": "9" }), 0.25)
      assert.strictEqual(yield* retryAfterFromHeaders({ "Retry-After-Ms": "later", "retry-after": "9" }), 9)
      assert.strictEqual(yield* retryAfterFromHeaders({ "retry-after-ms": "-5", "retry-after": "9" }), 9)
      assert.strictEqual(yield* retryAfterFromHeaders({ "retry-after-ms": "86400000" }), 600)
      assert.strictEqual(yield* retryAfterFromHeaders({ "retry-after-ms": "90000" }, { maxSeconds: 60 }), 60)
      assert.isUndefined(yield* retryAfterFromHeaders({}))
      assert.isUndefined(yield* retryAfterFromHeaders(undefined))
    }))
})

describe("fromOpenAiError", () => {
  it.effect("reads status, headers and the JSON error of a RateLimitError", () =>
    Effect.gen(function*() {
      const thrown = new OpenAI.RateLimitError(
        429,
        { message: "Slow down", type: "requests", code: "rate_limit_exceeded" },
        undefined,
        new Headers({ "retry-after": "3" })
      )
      assert.isTrue(isOpenAiError(thrown))
      const error = yield* fromOpenAiError(thrown, identity)
      assert.deepStrictEqual(summary(error), {
        kind: "rate_limit",
        status: 429,
        retryAfterSeconds: 3,
        message: "Slow down"
      })
      assert.strictEqual(error.cause, thrown)
    }))
  it.effect("reads an HTTP-date Retry-After against the clock", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(Date.parse("Sun, 06 Nov 1994 08:49:37 GMT"))
      const thrown = new OpenAI.RateLimitError(
        429,
        { message: "Slow down" },
        undefined,
        new Headers({ "retry-after": "Sun, 06 Nov 1994 08:49:44 GMT" })
      )
      assert.strictEqual((yield* fromOpenAiError(thrown, identity)).retryAfterSeconds, 7)
    }))
  it.effect("a connection timeout is a timeout; a connection error a connection failure", () =>
    Effect.gen(function*() {
      const timeout = yield* fromOpenAiError(new OpenAI.APIConnectionTimeoutError(), identity)
      assert.deepStrictEqual(summary(timeout), {
        kind: "timeout",
        status: undefined,
        retryAfterSeconds: undefined,
        message: "Provider 'acme' request failed: Request timed out."
      })
      assert.strictEqual((yield* fromOpenAiError(new OpenAI.APIUserAbortError(), identity)).kind, "timeout")
      const refused = new OpenAI.APIConnectionError({
        cause: new TypeError("fetch failed", { cause: Object.assign(new Error("connect ECONNREFUSED"), {}) })
      })
      assert.deepStrictEqual(summary(yield* fromOpenAiError(refused, identity)), {
        kind: "api_connection",
        status: undefined,
        retryAfterSeconds: undefined,
        message: "Provider 'acme' request failed: Connection error. (connect ECONNREFUSED)"
      })
    }))
  it.effect("a body without JSON keeps its text; a body-less answer names the status", () =>
    Effect.gen(function*() {
      const text = OpenAI.APIError.generate(502, undefined, "Bad gateway from upstream", new Headers())
      assert.deepStrictEqual(summary(yield* fromOpenAiError(text, identity)), {
        kind: "internal_server",
        status: 502,
        retryAfterSeconds: undefined,
        message: "Bad gateway from upstream"
      })
      const empty = OpenAI.APIError.generate(500, undefined, undefined, new Headers())
      assert.strictEqual(
        (yield* fromOpenAiError(empty, identity)).message,
        "Provider 'acme' request failed with status code 500."
      )
    }))
  it.effect("recognises an APIError whose class names a bundler renamed", () =>
    Effect.gen(function*() {
      class Minified extends Error {
        readonly status = 403
        readonly headers = new Headers()
        readonly error = { message: "Project does not have access to model" }
        readonly requestID = "req_1"
      }
      assert.isTrue(isOpenAiError(new Minified("403 Project does not have access to model")))
      assert.isFalse(isOpenAiError({ status: 403, headers: {}, error: {}, requestID: "req_1" }))
      assert.isFalse(isOpenAiError(new Error("403")))
      const error = yield* providerErrorFromSdk(new Minified("403 Project does not have access"), identity)
      assert.strictEqual(error.kind, "permission_denied")
    }))
})

describe("fromAiSdkError", () => {
  const call = { url: "https://api.example.com/v1/chat/completions", requestBodyValues: {} }

  it.effect("an APICallError is classified from statusCode, responseBody and responseHeaders", () =>
    Effect.gen(function*() {
      const thrown = new APICallError({
        ...call,
        message: "Too Many Requests",
        statusCode: 429,
        responseHeaders: { "retry-after-ms": "1200" },
        responseBody: "{\"error\":{\"message\":\"Rate limit reached\"}}"
      })
      assert.isTrue(isAiSdkError(thrown))
      assert.deepStrictEqual(summary(yield* fromAiSdkError(thrown, identity)), {
        kind: "rate_limit",
        status: 429,
        retryAfterSeconds: 1.2,
        message: "Rate limit reached"
      })
    }))
  it.effect("the SDK's message stands in for a body without one", () =>
    Effect.gen(function*() {
      const thrown = new APICallError({ ...call, message: "Service Unavailable", statusCode: 503 })
      assert.deepStrictEqual(summary(yield* fromAiSdkError(thrown, identity)), {
        kind: "internal_server",
        status: 503,
        retryAfterSeconds: undefined,
        message: "Service Unavailable"
      })
    }))
  it.effect("a RetryError is its last error", () =>
    Effect.gen(function*() {
      const first = new APICallError({ ...call, message: "Service Unavailable", statusCode: 503 })
      const last = new APICallError({
        ...call,
        message: "Too Many Requests",
        statusCode: 429,
        responseHeaders: { "retry-after": "4" }
      })
      const thrown = new RetryError({
        message: "Failed after 2 attempts",
        reason: "maxRetriesExceeded",
        errors: [first, last]
      })
      assert.deepStrictEqual(summary(yield* fromAiSdkError(thrown, identity)), {
        kind: "rate_limit",
        status: 429,
        retryAfterSeconds: 4,
        message: "Too Many Requests"
      })
      const empty = new RetryError({ message: "Aborted", reason: "abort", errors: [] })
      assert.strictEqual((yield* fromAiSdkError(empty, identity)).kind, "api_error")
    }))
  it.effect("a status-less APICallError is a connection failure, or a timeout by its cause", () =>
    Effect.gen(function*() {
      const reset = new APICallError({
        ...call,
        message: "Cannot connect to API: other side closed",
        cause: Object.assign(new Error("other side closed"), { code: "UND_ERR_SOCKET" }),
        isRetryable: true
      })
      assert.strictEqual((yield* fromAiSdkError(reset, identity)).kind, "api_connection")
      const timedOut = new APICallError({
        ...call,
        message: "Cannot connect to API: Connect Timeout Error",
        cause: Object.assign(new Error("Connect Timeout Error"), { code: "UND_ERR_CONNECT_TIMEOUT" }),
        isRetryable: true
      })
      assert.strictEqual((yield* fromAiSdkError(timedOut, identity)).kind, "timeout")
    }))
  it.effect("errors raised before any answer keep their message and name their kind", () =>
    Effect.gen(function*() {
      const missingKey = yield* fromAiSdkError(new LoadAPIKeyError({ message: "OpenAI API key is missing." }), identity)
      assert.deepStrictEqual([missingKey.kind, missingKey.message], ["authentication", "OpenAI API key is missing."])
      const noModel = yield* fromAiSdkError(
        new NoSuchModelError({ modelId: "m-9", modelType: "languageModel" }),
        identity
      )
      assert.strictEqual(noModel.kind, "not_found")
      const invalid = yield* fromAiSdkError(new TypeValidationError({ value: {}, cause: new Error("x") }), identity)
      assert.strictEqual(invalid.kind, "malformed_response")
    }))
  it.effect("a gateway error with a status reads the provider's answer from its cause", () =>
    Effect.gen(function*() {
      const answer = new APICallError({
        ...call,
        message: "Too Many Requests",
        statusCode: 429,
        responseHeaders: { "retry-after": "5" },
        responseBody: "{\"error\":{\"message\":\"Gateway rate limit\"}}"
      })
      // the shape of @ai-sdk/gateway's GatewayRateLimitError: its own marker, statusCode, the call as cause
      const gateway = Object.assign(new Error("Rate limit exceeded"), {
        name: "GatewayRateLimitError",
        statusCode: 429,
        cause: answer,
        [Symbol.for("vercel.ai.gateway.error")]: true
      })
      assert.isTrue(isAiSdkError(gateway))
      assert.deepStrictEqual(summary(yield* providerErrorFromSdk(gateway, identity)), {
        kind: "rate_limit",
        status: 429,
        retryAfterSeconds: 5,
        message: "Gateway rate limit"
      })
    }))
})

describe("fromEffectAiError", () => {
  const wrap = (reason: AiError.AiErrorReason) => AiError.make({ module: "OpenAiClient", method: "create", reason })

  it.effect("a RateLimitError's retryAfter is the wait, capped", () =>
    Effect.gen(function*() {
      const error = yield* fromEffectAiError(
        wrap(new AiError.RateLimitError({ retryAfter: Duration.seconds(30) })),
        identity
      )
      assert.deepStrictEqual(summary(error), {
        kind: "rate_limit",
        status: undefined,
        retryAfterSeconds: 30,
        message: "Rate limit exceeded. Retry after 30s"
      })
      const hours = yield* fromEffectAiError(
        wrap(new AiError.RateLimitError({ retryAfter: Duration.hours(5) })),
        identity
      )
      assert.strictEqual(hours.retryAfterSeconds, 600)
    }))
  it.effect("the reason names the kind", () =>
    Effect.gen(function*() {
      const kinds = yield* Effect.forEach([
        new AiError.QuotaExhaustedError({}),
        new AiError.AuthenticationError({ kind: "InvalidKey" }),
        new AiError.AuthenticationError({
          kind: "InsufficientPermissions",
          http: { response: { status: 403, headers: {} }, body: "{\"error\":{\"message\":\"No access\"}}" }
        }),
        new AiError.InternalProviderError({ description: "Server error" }),
        new AiError.ContentPolicyError({ description: "Flagged" }),
        new AiError.InvalidRequestError({ description: "This model's maximum context length is 8192 tokens" }),
        new AiError.InvalidRequestError({ parameter: "temperature", description: "must be at most 2" }),
        new AiError.UnsupportedSchemaError({ description: "anyOf" }),
        new AiError.StructuredOutputError({ description: "expected a number", responseText: "{}" }),
        new AiError.NetworkError({ reason: "InvalidUrlError", method: "POST", url: "nope" }),
        new AiError.UnknownError({ http: { response: { status: 404, headers: {} } } })
      ], (reason) => Effect.map(fromEffectAiError(wrap(reason), identity), (error) => error.kind))
      assert.deepStrictEqual(kinds, [
        "quota_exceeded",
        "authentication",
        "permission_denied",
        "internal_server",
        "bad_request",
        "context_window_exceeded",
        "bad_request",
        "unsupported_capability",
        "malformed_response",
        "bad_request",
        "not_found"
      ])
    }))
  it.effect("a bare reason is read like a wrapped one; Redacted headers are skipped", () =>
    Effect.gen(function*() {
      const reason = AiError.reasonFromHttpStatus({
        status: 429,
        http: {
          response: { status: 429, headers: { "retry-after": "8", authorization: "Bearer sk" } },
          body: "{\"error\":{\"message\":\"Too many\"}}"
        }
      })
      assert.isFalse(isEffectAiError(reason))
      assert.deepStrictEqual(summary(yield* providerErrorFromSdk(reason, identity)), {
        kind: "rate_limit",
        status: 429,
        retryAfterSeconds: 8,
        message: "Too many"
      })
    }))
})

describe("providerErrorFromSdk", () => {
  it.effect("passes a ProviderError through and falls back to providerErrorFromUnknown", () =>
    Effect.gen(function*() {
      const own = new ProviderError({ kind: "timeout", message: "slow" })
      assert.strictEqual(yield* providerErrorFromSdk(own, identity), own)
      const refused = Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:1"), { code: "ECONNREFUSED" })
      assert.strictEqual((yield* providerErrorFromSdk(refused, identity)).kind, "api_connection")
      const fetchStyle = { status: 429, headers: { "retry-after": "1" } }
      assert.strictEqual((yield* providerErrorFromSdk(fetchStyle, identity)).retryAfterSeconds, 1)
    }))
  it.effect("looks through Effect.tryPromise's UnknownError", () =>
    Effect.gen(function*() {
      const thrown = new OpenAI.AuthenticationError(401, { message: "Bad key" }, undefined, new Headers())
      const failure = yield* Effect.flip(Effect.tryPromise(() => Promise.reject(thrown)))
      assert.isTrue(Cause.isUnknownError(failure))
      assert.deepStrictEqual(summary(yield* providerErrorFromSdk(failure, identity)), {
        kind: "authentication",
        status: 401,
        retryAfterSeconds: undefined,
        message: "Bad key"
      })
    }))
})
