import { Duration, Effect } from "effect"
import { classifyHttpStatus } from "../httpClassification.js"
import type { ProviderError, ProviderIdentity } from "../ProviderError.js"
import type { ProviderErrorKind } from "../ProviderErrorKind.js"
import { defaultMaxRetryAfterSeconds, type RetryAfterOptions } from "../RetryAfter.js"
import { classifyTransportFailure } from "../transportClassification.js"
import { fieldsOf, makeProviderError, providerErrorFromSdkHttp, providerErrorFromSdkTransport } from "./sdkFailure.js"

/** What `fromEffectAiError` reads of a reason of `effect/ai`'s `AiError` (`RateLimitError`, `NetworkError`, …). */
export interface EffectAiErrorReasonLike {
  readonly _tag: string
  readonly message: string
  readonly description?: string | undefined
  /** `AuthenticationError`: `InvalidKey`, `InsufficientPermissions`, … */
  readonly kind?: string | undefined
  /** `NetworkError`: `TransportError`, `EncodeError` or `InvalidUrlError`. */
  readonly reason?: string | undefined
  /** `RateLimitError`: a `Duration`. */
  readonly retryAfter?: unknown
  readonly http?: {
    readonly response?: { readonly status: number; readonly headers: Readonly<Record<string, unknown>> } | undefined
    readonly body?: string | undefined
  } | undefined
  readonly cause?: unknown
}

/** What `fromEffectAiError` reads of `effect/ai`'s `AiError`: the module and method that failed, and the reason. */
export interface EffectAiErrorLike {
  readonly _tag: "AiError"
  readonly module: string
  readonly method: string
  readonly reason: EffectAiErrorReasonLike
}

// The brands `effect/ai` puts on `AiError` and on each reason (what its `isAiError` / `isAiErrorReason` check).
const aiErrorTypeId = "~effect/ai/AiError"
const reasonTypeId = "~effect/ai/AiError/Reason"

const isObject = (u: unknown): u is Readonly<Record<PropertyKey, unknown>> => typeof u === "object" && u !== null

/** Recognises a reason of `effect/ai`'s `AiError` (`RateLimitError`, `NetworkError`, …) by its brand. */
export const isEffectAiErrorReason = (u: unknown): u is EffectAiErrorReasonLike =>
  isObject(u) && reasonTypeId in u && typeof u["_tag"] === "string"

/** Recognises `effect/ai`'s `AiError` by its brand, or by its tag and a branded reason. */
export const isEffectAiError = (u: unknown): u is EffectAiErrorLike =>
  isObject(u) && (aiErrorTypeId in u || u["_tag"] === "AiError") && isEffectAiErrorReason(u["reason"])

// Header values may be `Redacted`; only plain strings can hold a Retry-After.
const plainHeaders = (headers: Readonly<Record<string, unknown>> | undefined): Record<string, string> =>
  Object.fromEntries(
    Object.entries(headers ?? {}).filter((entry): entry is [string, string] => typeof entry[1] === "string")
  )

const retryAfterOf = (reason: EffectAiErrorReasonLike, options: RetryAfterOptions): number | undefined => {
  if (!Duration.isDuration(reason.retryAfter)) return undefined
  const seconds = Duration.toSeconds(reason.retryAfter)
  if (!Number.isFinite(seconds) || seconds < 0) return undefined
  return Math.min(seconds, options.maxSeconds ?? defaultMaxRetryAfterSeconds)
}

// A transport failure is read from its cause's names and codes, then its description; else it failed to connect.
const transportKind = (reason: EffectAiErrorReasonLike): ProviderErrorKind => {
  const byCause = classifyTransportFailure(reason.cause)
  if (byCause !== "api_error") return byCause
  const byDescription = classifyTransportFailure(reason.description ?? "")
  return byDescription === "api_error" ? "api_connection" : byDescription
}

// The kind a reason names by itself; `undefined` where the HTTP status and body decide.
const kindOfReason = (reason: EffectAiErrorReasonLike): ProviderErrorKind | undefined => {
  switch (reason._tag) {
    case "RateLimitError":
      return "rate_limit"
    case "QuotaExhaustedError":
      return "quota_exceeded"
    case "AuthenticationError":
      return reason.kind === "InsufficientPermissions" ? "permission_denied" : "authentication"
    case "InternalProviderError":
      return "internal_server"
    case "NetworkError":
      return reason.reason === "TransportError" ? transportKind(reason) : "bad_request"
    case "ContentPolicyError":
    case "InvalidUserInputError":
      return "bad_request"
    case "UnsupportedSchemaError":
      return "unsupported_capability"
    case "InvalidResponseError":
    case "InvalidOutputError":
    case "StructuredOutputError":
      // The provider answered, but the response or the model's output could not be parsed or validated.
      return "malformed_response"
    case "InvalidRequestError":
    case "UnknownError":
      return undefined
    default:
      // Tool failures and the like: not a provider answer Sluice can classify.
      return "api_error"
  }
}

/**
 * Turns `effect/ai`'s `AiError` (or one of its reasons) into a `ProviderError`. The reason names the kind: a
 * `RateLimitError` is `rate_limit` (its `retryAfter`, else the response's `retry-after-ms` / `Retry-After`),
 * `QuotaExhaustedError` `quota_exceeded`, `AuthenticationError` `authentication` (`permission_denied` for
 * insufficient permissions), `InternalProviderError` `internal_server`, a `NetworkError` transport failure
 * `api_connection` or `timeout`, content-policy and invalid-input errors `bad_request`, `UnsupportedSchemaError`
 * `unsupported_capability`, an invalid response, invalid output or structured output that does not match its
 * schema (`InvalidResponseError`, `InvalidOutputError`, `StructuredOutputError`) `malformed_response`.
 * `InvalidRequestError` and `UnknownError` are classified by their HTTP status and
 * body (a context-length message is `context_window_exceeded`). The message is the provider's, from the response
 * body, else the reason's description.
 */
export const fromEffectAiError = (
  error: EffectAiErrorLike | EffectAiErrorReasonLike,
  identity: ProviderIdentity,
  options: RetryAfterOptions = {}
): Effect.Effect<ProviderError> => {
  const reason = isEffectAiError(error) ? error.reason : error as EffectAiErrorReasonLike
  const status = reason.http?.response?.status
  // As for any HTTP answer, a body that says the quota is gone wins over the status: `reasonFromHttpStatus` makes
  // every 429 a `RateLimitError`, but waiting will not bring credits back.
  const kind = status !== undefined && classifyHttpStatus(status, reason.http?.body) === "quota_exceeded"
    ? "quota_exceeded"
    : kindOfReason(reason)
  const retryAfterSeconds = kind === "rate_limit" ? retryAfterOf(reason, options) : undefined
  const reasonMessage = reason.description ?? reason.message
  if (status !== undefined) {
    return providerErrorFromSdkHttp(
      {
        status,
        body: reason.http?.body,
        headers: plainHeaders(reason.http?.response?.headers),
        sdkMessage: reasonMessage,
        kind,
        retryAfterSeconds,
        cause: error
      },
      identity,
      options
    )
  }
  if (reason._tag === "NetworkError") {
    return Effect.succeed(
      makeProviderError({
        ...fieldsOf(
          providerErrorFromSdkTransport(reason.cause, identity, "api_connection", reason.description ?? reason.reason)
        ),
        kind: kind ?? "api_connection",
        cause: error
      })
    )
  }
  return Effect.succeed(makeProviderError({
    ...identity,
    // Without a status, an invalid request is read like a 400 whose body is its description.
    kind: kind ?? (reason._tag === "InvalidRequestError" ? classifyHttpStatus(400, reasonMessage) : "api_error"),
    message: reasonMessage,
    retryAfterSeconds,
    // An unusable answer is still an answer: what was wrong with it is the provider's side of the story.
    ...(kind === "malformed_response" ? { providerMessage: reasonMessage } : {}),
    cause: error
  }))
}
