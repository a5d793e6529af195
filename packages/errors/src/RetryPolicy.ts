import type { ModelError, ModelErrorTag } from "./ModelError.js"
import type { ProviderErrorKind } from "./ProviderErrorKind.js"

/**
 * What a scheduler does with a failed task:
 * - `preserve`: retry until it succeeds; never drop the row (rate limits, local admission timeouts);
 * - `retry`: a bounded number of attempts, then drop the row with this cause (timeouts, 5xx, connection, a
 *   malformed or oversized 2xx body);
 * - `fail`: drop the row now with this cause (auth, quota, bad request, a provider declared down, …).
 */
export type RetryPolicy = "preserve" | "retry" | "fail"

/** The policy of every model error, as data. The `PreservedRetryable` type below is derived from it. */
export const modelErrorPolicies = {
  ModelRateLimitError: "preserve",
  ModelRequestAdmissionTimeoutError: "preserve",
  ModelTimeoutError: "retry",
  ModelInternalServerError: "retry",
  ModelAPIConnectionError: "retry",
  ModelGenerationValidationError: "retry",
  ModelMalformedResponseError: "retry",
  ModelResponseTooLargeError: "retry",
  ModelTruncatedResponseError: "retry",
  ModelQuotaExceededError: "fail",
  ModelRequestAdmissionRejectedError: "fail",
  ModelContextWindowExceededError: "fail",
  ModelAuthenticationError: "fail",
  ModelPermissionDeniedError: "fail",
  ModelNotFoundError: "fail",
  ModelUnsupportedParamsError: "fail",
  ModelBadRequestError: "fail",
  ModelUnprocessableEntityError: "fail",
  ModelUnsupportedCapabilityError: "fail",
  ModelAPIError: "fail",
  ModelProviderUnreachableError: "fail"
} as const satisfies Record<ModelErrorTag, RetryPolicy>

/** The policy of each provider error kind (what `toModelError` turns it into decides the same thing). */
export const providerErrorKindPolicies = {
  rate_limit: "preserve",
  request_admission_timeout: "preserve",
  timeout: "retry",
  internal_server: "retry",
  api_connection: "retry",
  malformed_response: "retry",
  response_too_large: "retry",
  quota_exceeded: "fail",
  authentication: "fail",
  permission_denied: "fail",
  not_found: "fail",
  context_window_exceeded: "fail",
  unsupported_params: "fail",
  bad_request: "fail",
  unprocessable_entity: "fail",
  unsupported_capability: "fail",
  api_error: "fail",
  provider_unreachable: "fail"
} as const satisfies Record<ProviderErrorKind, RetryPolicy>

/** The `ModelError` tags whose retry policy is `P`. */
export type TagsWithPolicy<P extends RetryPolicy> = {
  readonly [Tag in ModelErrorTag]: (typeof modelErrorPolicies)[Tag] extends P ? Tag : never
}[ModelErrorTag]

/** The errors a scheduler must retry until success and never drop. */
export type PreservedRetryable = Extract<ModelError, { readonly _tag: TagsWithPolicy<"preserve"> }>
/** The errors that get a bounded number of attempts. */
export type BoundedRetryable = Extract<ModelError, { readonly _tag: TagsWithPolicy<"retry"> }>
/** The errors that drop the row at once. */
export type NonRetryable = Extract<ModelError, { readonly _tag: TagsWithPolicy<"fail"> }>

/**
 * The policy of one error: its tag's, except for a truncated answer its caller chose not to retry
 * (`ModelTruncatedResponseError` with `retry: false`), which drops the row at once.
 */
export const retryPolicyOf = (error: ModelError): RetryPolicy =>
  error._tag === "ModelTruncatedResponseError" && error.retry === false ? "fail" : modelErrorPolicies[error._tag]

const isTaggedWith = (u: unknown): u is { readonly _tag: string } =>
  typeof u === "object" && u !== null && typeof (u as { readonly _tag?: unknown })._tag === "string"

/** Is `u` one of the model errors? (A tag check, so it works across package copies and after decoding.) */
export const isModelError = (u: unknown): u is ModelError =>
  isTaggedWith(u) && Object.hasOwn(modelErrorPolicies, u._tag)

export const isPreservedRetryable = (u: unknown): u is PreservedRetryable =>
  isModelError(u) && modelErrorPolicies[u._tag] === "preserve"

export const isBoundedRetryable = (u: unknown): u is BoundedRetryable => isModelError(u) && retryPolicyOf(u) === "retry"
