import type { ModelError, ModelErrorTag } from "./ModelError.js"
import type { ProviderErrorKind } from "./ProviderErrorKind.js"

/** The kind name a report uses for a model error (e.g. the keys of `dropCauses`). */
export type ModelErrorKind =
  | ProviderErrorKind
  | "generation_validation"
  | "request_admission_rejected"
  | "truncated"

export const modelErrorKinds = {
  ModelRateLimitError: "rate_limit",
  ModelRequestAdmissionTimeoutError: "request_admission_timeout",
  ModelRequestAdmissionRejectedError: "request_admission_rejected",
  ModelTimeoutError: "timeout",
  ModelInternalServerError: "internal_server",
  ModelAPIConnectionError: "api_connection",
  ModelGenerationValidationError: "generation_validation",
  ModelQuotaExceededError: "quota_exceeded",
  ModelContextWindowExceededError: "context_window_exceeded",
  ModelAuthenticationError: "authentication",
  ModelPermissionDeniedError: "permission_denied",
  ModelNotFoundError: "not_found",
  ModelUnsupportedParamsError: "unsupported_params",
  ModelBadRequestError: "bad_request",
  ModelUnprocessableEntityError: "unprocessable_entity",
  ModelUnsupportedCapabilityError: "unsupported_capability",
  ModelAPIError: "api_error",
  ModelMalformedResponseError: "malformed_response",
  ModelResponseTooLargeError: "response_too_large",
  ModelTruncatedResponseError: "truncated",
  ModelProviderUnreachableError: "provider_unreachable"
} as const satisfies Record<ModelErrorTag, ModelErrorKind>

export const modelErrorKindOf = (error: ModelError): ModelErrorKind => modelErrorKinds[error._tag]
