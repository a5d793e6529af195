import { assert, describe, it } from "@effect/vitest"
import { Effect, Schema } from "effect"
import {
  isBoundedRetryable,
  isModelError,
  isPreservedRetryable,
  ModelError,
  type ModelErrorTag,
  modelErrorKindOf,
  modelErrorPolicies,
  type PreservedRetryable,
  ProviderError,
  providerErrorKindPolicies,
  providerErrorKinds,
  requestAdmissionTimeoutError,
  retryPolicyOf,
  toModelError,
  truncatedResponseError
} from "../src/index.js"

const modelErrorOf = (kind: (typeof providerErrorKinds)[number]) =>
  toModelError(new ProviderError({ kind, message: "x", provider: "p", model: "m" }))

describe("retry policy", () => {
  it("preserves exactly rate limits and local admission timeouts", () => {
    const preserved = (Object.keys(modelErrorPolicies) as Array<ModelErrorTag>).filter((tag) =>
      modelErrorPolicies[tag] === "preserve"
    )
    assert.deepStrictEqual(preserved.sort(), ["ModelRateLimitError", "ModelRequestAdmissionTimeoutError"])
  })

  it("gives bounded retries to timeouts, 5xx, connection failures, malformed or oversized bodies, invalid output", () => {
    for (
      const kind of [
        "timeout",
        "internal_server",
        "api_connection",
        "malformed_response",
        "response_too_large"
      ] as const
    ) {
      assert.strictEqual(retryPolicyOf(modelErrorOf(kind)), "retry", kind)
      assert.isTrue(isBoundedRetryable(modelErrorOf(kind)))
    }
    assert.strictEqual(modelErrorPolicies.ModelGenerationValidationError, "retry")
  })

  it("fails everything else, quota included", () => {
    for (const kind of providerErrorKinds) {
      const error = modelErrorOf(kind)
      assert.strictEqual(retryPolicyOf(error), providerErrorKindPolicies[kind], kind)
    }
    assert.strictEqual(retryPolicyOf(modelErrorOf("quota_exceeded")), "fail")
    // A provider declared down is not retried: its calls would fail again without reaching it.
    assert.strictEqual(retryPolicyOf(modelErrorOf("provider_unreachable")), "fail")
    assert.isFalse(isBoundedRetryable(modelErrorOf("provider_unreachable")))
    assert.strictEqual(modelErrorPolicies.ModelRequestAdmissionRejectedError, "fail")
  })

  it("guards recognise tags, not look-alikes", () => {
    assert.isTrue(isPreservedRetryable(modelErrorOf("rate_limit")))
    assert.isTrue(isPreservedRetryable(requestAdmissionTimeoutError({
      provider: "p",
      model: "m",
      resource: "p/m/chat",
      waitedMs: 1,
      waitersAhead: 0
    })))
    assert.isFalse(isPreservedRetryable(modelErrorOf("timeout")))
    assert.isFalse(isPreservedRetryable({ _tag: "ModelRateLimitErrorX" }))
    assert.isFalse(isModelError({ _tag: "toString" }))
    assert.isFalse(isModelError(null))
    assert.isFalse(isPreservedRetryable(new Error("ModelRateLimitError")))
  })

  it("names the kind each error reports under", () => {
    assert.strictEqual(modelErrorKindOf(modelErrorOf("authentication")), "authentication")
    assert.strictEqual(modelErrorKindOf(modelErrorOf("rate_limit")), "rate_limit")
    for (const kind of ["malformed_response", "response_too_large", "provider_unreachable"] as const) {
      assert.strictEqual(modelErrorKindOf(modelErrorOf(kind)), kind)
    }
  })

  it("derives the same policy from a provider error kind and from the model error it becomes", () => {
    for (const kind of providerErrorKinds) {
      assert.strictEqual(modelErrorPolicies[modelErrorOf(kind)._tag], providerErrorKindPolicies[kind], kind)
    }
  })

  it.effect("catchIf on the guard removes exactly the preserved errors from the error channel", () =>
    Effect.gen(function*() {
      const failing = (kind: "rate_limit" | "authentication") => Effect.fail(modelErrorOf(kind))
      const seen: Array<PreservedRetryable["_tag"]> = []
      const handled = failing("rate_limit").pipe(
        Effect.catchIf(isPreservedRetryable, (e) => Effect.sync(() => seen.push(e._tag)))
      )
      yield* handled
      assert.deepStrictEqual(seen, ["ModelRateLimitError"])
      const passed = yield* failing("authentication").pipe(
        Effect.catchIf(isPreservedRetryable, () => Effect.succeed("caught")),
        Effect.flip
      )
      assert.strictEqual(passed._tag, "ModelAuthenticationError")
    }))

  it.effect("model errors survive a JSON round trip through the union schema", () =>
    Effect.gen(function*() {
      const original = modelErrorOf("rate_limit")
      const encoded = yield* Schema.encodeEffect(ModelError)(original)
      const json = JSON.parse(JSON.stringify(encoded))
      const decoded = yield* Schema.decodeUnknownEffect(ModelError)(json)
      assert.strictEqual(decoded._tag, "ModelRateLimitError")
      assert.strictEqual(decoded.reason, original.reason)
    }))
})

describe("truncated answers", () => {
  it("are retried a bounded number of times, unless the caller chose to drop them at once", () => {
    const retried = truncatedResponseError({ provider: "p", model: "m", maxTokens: 16, retry: true })
    const dropped = truncatedResponseError({ provider: "p", model: "m", retry: false })
    assert.strictEqual(retryPolicyOf(retried), "retry")
    assert.isTrue(isBoundedRetryable(retried))
    assert.strictEqual(retryPolicyOf(dropped), "fail")
    assert.isFalse(isBoundedRetryable(dropped))
    assert.strictEqual(modelErrorKindOf(retried), "truncated")
    assert.strictEqual(modelErrorKindOf(dropped), "truncated")
    assert.include(retried.message, "cut off by its token limit (16)")
  })
})
