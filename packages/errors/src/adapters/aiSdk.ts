import { Effect } from "effect"
import { type ProviderError, providerErrorFromUnknown, type ProviderIdentity } from "../ProviderError.js"
import type { ProviderErrorKind } from "../ProviderErrorKind.js"
import type { RetryAfterOptions } from "../RetryAfter.js"
import { makeProviderError, providerErrorFromSdkHttp, providerErrorFromSdkTransport } from "./sdkFailure.js"

/**
 * What `fromAiSdkError` reads of the Vercel AI SDK's errors: `APICallError`'s `statusCode`, `responseHeaders`,
 * `responseBody` and `isRetryable`; `RetryError`'s `lastError` and `errors`; the gateway errors' `statusCode`;
 * and every error's `name` and `message`.
 */
export interface AiSdkErrorLike {
  readonly name: string
  readonly message: string
  readonly statusCode?: number | undefined
  readonly responseHeaders?: Readonly<Record<string, string>> | undefined
  readonly responseBody?: string | undefined
  readonly isRetryable?: boolean | undefined
  readonly cause?: unknown
  readonly lastError?: unknown
  readonly errors?: ReadonlyArray<unknown> | undefined
  /** `NoObjectGeneratedError`: why the model stopped (`"length"`: cut off by its token limit). */
  readonly finishReason?: string | undefined
}

// The AI SDK marks its errors with registry symbols (what its own `isInstance` checks), so they are recognised
// across copies and versions of the package.
const aiSdkMarker = Symbol.for("vercel.ai.error")
const apiCallErrorMarker = Symbol.for("vercel.ai.error.AI_APICallError")
const retryErrorMarker = Symbol.for("vercel.ai.error.AI_RetryError")
const gatewayMarker = Symbol.for("vercel.ai.gateway.error")

const hasMarker = (u: object, marker: symbol): boolean => (u as { readonly [key: symbol]: unknown })[marker] === true

const isApiCallError = (u: unknown): boolean =>
  u instanceof Error && (hasMarker(u, apiCallErrorMarker) || u.name === "AI_APICallError")

const isRetryError = (u: AiSdkErrorLike & object): boolean =>
  hasMarker(u, retryErrorMarker) || u.name === "AI_RetryError"

/** Recognises an AI SDK error (`AISDKError` and its subclasses, `RetryError`, the gateway errors) by its marker. */
export const isAiSdkError = (u: unknown): u is AiSdkErrorLike =>
  u instanceof Error &&
  (hasMarker(u, aiSdkMarker) || hasMarker(u, gatewayMarker) || u.name === "AI_APICallError" ||
    u.name === "AI_RetryError")

// Errors the SDK raises before or instead of a provider answer, by the kind of mistake they are.
const localKinds: Readonly<Record<string, ProviderErrorKind>> = {
  AI_LoadAPIKeyError: "authentication",
  AI_NoSuchModelError: "not_found",
  AI_UnsupportedFunctionalityError: "unsupported_capability",
  AI_InvalidArgumentError: "bad_request",
  AI_InvalidPromptError: "bad_request",
  AI_TooManyEmbeddingValuesForCallError: "bad_request",
  // The provider answered, but not with a usable answer: unparseable JSON, the wrong shape, no object or no content.
  AI_JSONParseError: "malformed_response",
  AI_TypeValidationError: "malformed_response",
  AI_NoObjectGeneratedError: "malformed_response",
  AI_InvalidResponseDataError: "malformed_response",
  AI_EmptyResponseBodyError: "malformed_response",
  AI_NoContentGeneratedError: "malformed_response"
}

// What a 2xx the SDK could not read says about itself: the SDK's words, then its cause's (the parse or validation
// error), cut short — the cause may quote the whole body.
const maxCauseChars = 300
const malformedMessage = (error: AiSdkErrorLike): string => {
  const cause = error.cause instanceof Error ? error.cause.message.trim() : ""
  const said = cause === "" || error.message.includes(cause)
    ? error.message
    : `${error.message.replace(/\.$/, "")}: ${
      cause.length > maxCauseChars ? `${cause.slice(0, maxCauseChars)}…` : cause
    }`
  if (error.finishReason !== "length") return said
  return `${/[.!?…]$/.test(said) ? said : `${said}.`} The answer was cut off at its token limit (finish reason ` +
    `"length"): raise maxOutputTokens.`
}

/**
 * Turns a Vercel AI SDK error into a `ProviderError`. `RetryError` is unwrapped to its last error. An error with a
 * `statusCode` (`APICallError`, the gateway errors) is classified as an HTTP answer from its status and
 * `responseBody`, with the wait of a 429 from `retry-after-ms` or `Retry-After` in `responseHeaders`; the SDK's
 * message stands in when the body has none. An `APICallError` without a status is a failed connection (or a
 * timeout, by its cause's name and code). An answer the SDK could not use — a 2xx `APICallError` ("Invalid JSON
 * response"), `JSONParseError`, `TypeValidationError`, `NoObjectGeneratedError`, `InvalidResponseDataError`,
 * `EmptyResponseBodyError`, `NoContentGeneratedError` — is `malformed_response`, its message followed by its
 * cause's. Other SDK errors keep their message: a missing API key is `authentication`, an unknown model `not_found`, an unsupported feature `unsupported_capability`, an invalid
 * argument or prompt `bad_request`, anything else `api_error`.
 *
 * Call the SDK with `maxRetries: 0`: its default retries 429s and 5xx inside the caller's admission lease.
 */
export const fromAiSdkError = (
  error: AiSdkErrorLike,
  identity: ProviderIdentity,
  options: RetryAfterOptions = {}
): Effect.Effect<ProviderError> => {
  if (isRetryError(error)) {
    const last = error.lastError ?? error.errors?.at(-1)
    if (last === undefined || last === error) {
      return Effect.succeed(makeProviderError({ ...identity, kind: "api_error", message: error.message, cause: error }))
    }
    return isAiSdkError(last)
      ? fromAiSdkError(last, identity, options)
      : providerErrorFromUnknown(last, identity, options)
  }
  if (typeof error.statusCode === "number" && error.statusCode >= 200 && error.statusCode < 300) {
    // A 2xx whose body the SDK could not parse or validate ("Invalid JSON response"): not an HTTP failure.
    const message = malformedMessage(error)
    return Effect.succeed(makeProviderError({
      ...identity,
      kind: "malformed_response",
      message,
      status: error.statusCode,
      providerMessage: message,
      cause: error
    }))
  }
  if (typeof error.statusCode === "number") {
    // A gateway error keeps the provider's answer in its cause.
    const answer = isApiCallError(error.cause) ? error.cause as AiSdkErrorLike : undefined
    return providerErrorFromSdkHttp(
      {
        status: error.statusCode,
        body: error.responseBody ?? answer?.responseBody,
        headers: error.responseHeaders ?? answer?.responseHeaders,
        sdkMessage: error.message,
        cause: error
      },
      identity,
      options
    )
  }
  if (isApiCallError(error)) {
    // The SDK marks network failures retryable; its other status-less call errors say nothing more.
    return Effect.succeed(
      providerErrorFromSdkTransport(error, identity, error.isRetryable === true ? "api_connection" : "api_error")
    )
  }
  const kind = localKinds[error.name] ?? "api_error"
  if (kind === "malformed_response") {
    // The provider did answer: what the SDK found wrong with it is the message a user needs to see.
    const message = malformedMessage(error)
    return Effect.succeed(makeProviderError({ ...identity, kind, message, providerMessage: message, cause: error }))
  }
  return Effect.succeed(makeProviderError({ ...identity, kind, message: error.message, cause: error }))
}
