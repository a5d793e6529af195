import { assert, describe, it } from "@effect/vitest"
import {
  generationValidationError,
  type ModelErrorTag,
  ModelRequestAdmissionTimeoutError,
  ModelTimeoutError,
  ProviderError,
  type ProviderErrorKind,
  providerErrorKinds,
  requestAdmissionRejectedError,
  requestAdmissionTimeoutError,
  toModelError
} from "../src/index.js"

const providerError = (kind: ProviderErrorKind, fields: Partial<ConstructorParameters<typeof ProviderError>[0]> = {}) =>
  new ProviderError({ kind, message: "provider says no", provider: "acme", model: "test-model", ...fields })

const expectedTags: Record<ProviderErrorKind, ModelErrorTag> = {
  api_error: "ModelAPIError",
  api_connection: "ModelAPIConnectionError",
  authentication: "ModelAuthenticationError",
  context_window_exceeded: "ModelContextWindowExceededError",
  quota_exceeded: "ModelQuotaExceededError",
  unsupported_params: "ModelUnsupportedParamsError",
  bad_request: "ModelBadRequestError",
  internal_server: "ModelInternalServerError",
  not_found: "ModelNotFoundError",
  permission_denied: "ModelPermissionDeniedError",
  rate_limit: "ModelRateLimitError",
  request_admission_timeout: "ModelRequestAdmissionTimeoutError",
  timeout: "ModelTimeoutError",
  unprocessable_entity: "ModelUnprocessableEntityError",
  unsupported_capability: "ModelUnsupportedCapabilityError",
  malformed_response: "ModelMalformedResponseError",
  response_too_large: "ModelResponseTooLargeError",
  provider_unreachable: "ModelProviderUnreachableError"
}

describe("toModelError", () => {
  for (const kind of providerErrorKinds) {
    it(`maps ${kind} to ${expectedTags[kind]} with provider, model, cause and solution`, () => {
      const error = toModelError(providerError(kind, { status: 400 }), { purpose: "generating column 'review'" })
      assert.strictEqual(error._tag, expectedTags[kind])
      assert.strictEqual(error.provider, "acme")
      assert.strictEqual(error.model, "test-model")
      assert.include(error.reason, "generating column 'review'")
      assert.isAbove(error.solution.length, 10)
      assert.include(error.message, "Cause:")
      assert.include(error.message, "Solution:")
    })
  }

  it("carries status and Retry-After of a rate limit", () => {
    const error = toModelError(providerError("rate_limit", { status: 429, retryAfterSeconds: 3 }))
    assert.strictEqual(error._tag, "ModelRateLimitError")
    assert.strictEqual(error.status, 429)
    assert.strictEqual(error.retryAfterSeconds, 3)
    assert.include(error.reason, "running generation")
  })

  it("puts the provider's message on the first line when the provider answered, else the cause", () => {
    const answered = toModelError(providerError("bad_request", { status: 400 }))
    assert.strictEqual(answered.providerMessage, "provider says no")
    assert.strictEqual(
      answered.message.split("\n")[0],
      "Model 'test-model' on provider 'acme' failed: provider says no"
    )
    const unanswered = toModelError(providerError("timeout"))
    assert.isUndefined(unanswered.providerMessage)
    assert.strictEqual(
      unanswered.message.split("\n")[0],
      "Model 'test-model' on provider 'acme' failed: The request to model 'test-model' timed out while running " +
        "generation."
    )
  })

  it("shows the OS's words of a failed connection as the provider message", () => {
    const error = toModelError(providerError("api_connection", {
      message: "Provider 'acme' request failed: connect ECONNREFUSED 127.0.0.1:9",
      providerMessage: "connect ECONNREFUSED 127.0.0.1:9"
    }))
    assert.strictEqual(error.providerMessage, "connect ECONNREFUSED 127.0.0.1:9")
    assert.strictEqual(
      error.message.split("\n")[0],
      "Model 'test-model' on provider 'acme' failed: connect ECONNREFUSED 127.0.0.1:9"
    )
  })

  it("keeps the first line to one short line, and the whole provider message below it", () => {
    const long = `line one\nline two ${"x".repeat(400)}`
    const error = toModelError(providerError("bad_request", { status: 400, message: long }))
    const [first, second] = error.message.split("\n")
    assert.isAtMost(first!.length, 400)
    assert.isTrue(first!.endsWith("…"))
    assert.include(first!, "line one line two")
    assert.strictEqual(second, `  | Provider message: ${long.split("\n")[0]}`)
  })

  it("names a down provider and tells the user what to check", () => {
    const error = toModelError(
      providerError("provider_unreachable", { providerMessage: "getaddrinfo ENOTFOUND api.example" }),
      { purpose: "generating column 'review'" }
    )
    assert.strictEqual(error._tag, "ModelProviderUnreachableError")
    assert.include(error.reason, "Provider 'acme' is down")
    assert.include(error.message, "failed: getaddrinfo ENOTFOUND api.example")
    assert.include(error.solution, "base URL")
  })

  it("keeps OpenAI's context-length detail", () => {
    const error = toModelError(providerError("context_window_exceeded", {
      status: 400,
      message: "This model's maximum context length is 32768 tokens. However, you requested 40000 tokens."
    }))
    assert.include(error.reason, "maximum context length is 32768 tokens")
  })

  it("phrases an unsupported capability with the operation", () => {
    const error = toModelError(
      providerError("unsupported_capability", {
        message: "Provider 'acme' does not support operation 'embeddings' for model 'test-model'."
      }),
      { purpose: "embedding rows" }
    )
    assert.strictEqual(
      error.reason,
      "Provider 'acme' does not support operation 'embeddings' for model 'test-model' while embedding rows."
    )
  })

  it("keeps the provider error as the cause", () => {
    const original = providerError("internal_server", { status: 503 })
    assert.strictEqual(toModelError(original).cause, original)
  })
})

describe("admission errors", () => {
  it("an admission timeout is its own tag, not a timeout, and says the request was not sent", () => {
    const error = requestAdmissionTimeoutError({
      provider: "acme",
      model: "test-model",
      resource: "acme/test-model/chat",
      waitedMs: 150.4,
      waitersAhead: 7
    })
    assert.instanceOf(error, ModelRequestAdmissionTimeoutError)
    assert.notInstanceOf(error as unknown, ModelTimeoutError)
    assert.strictEqual(error.waitedMs, 150.4)
    assert.strictEqual(error.waitersAhead, 7)
    assert.include(error.reason, "the provider request was not sent")
    assert.include(error.reason, "150 ms")
  })
  it("an unregistered model is a configuration error naming the model", () => {
    const error = requestAdmissionRejectedError({
      provider: "acme",
      model: "ghost",
      resource: "acme/ghost/chat",
      rejection: "unknown_resource"
    })
    assert.strictEqual(error._tag, "ModelRequestAdmissionRejectedError")
    assert.include(error.reason, "not registered")
    assert.include(error.reason, "ghost")
  })
  it("a validation failure normalises whitespace and a trailing period", () => {
    const error = generationValidationError({
      provider: "acme",
      model: "m",
      detail: "  $.score:\n expected   integer.  "
    })
    assert.include(error.reason, "$.score: expected integer.")
    assert.notInclude(error.reason, "..")
  })
})
