/**
 * `@sluice/errors`: the failure vocabulary of LLM calls — provider error kinds, HTTP and transport
 * classification, Retry-After parsing, one tagged model error per kind, and the retry policy of each.
 */
export { type AiSdkErrorLike, fromAiSdkError, isAiSdkError } from "./adapters/aiSdk.js"
export {
  type EffectAiErrorLike,
  type EffectAiErrorReasonLike,
  fromEffectAiError,
  isEffectAiError,
  isEffectAiErrorReason
} from "./adapters/effectAi.js"
export { fromOpenAiError, isOpenAiError, type OpenAiErrorLike } from "./adapters/openAi.js"
export { providerErrorFromSdk } from "./adapters/providerErrorFromSdk.js"
export { retryAfterFromHeaders } from "./adapters/retryAfterHeaders.js"
export { type HeadersInput, headerValue } from "./headers.js"
export { classifyHttpStatus, extractBodyMessage } from "./httpClassification.js"
export {
  formatModelErrorMessage,
  type ModelErrorFacts,
  ModelAPIConnectionError,
  ModelAPIError,
  ModelAuthenticationError,
  ModelBadRequestError,
  ModelContextWindowExceededError,
  ModelError,
  type ModelErrorTag,
  ModelGenerationValidationError,
  ModelInternalServerError,
  ModelMalformedResponseError,
  ModelNotFoundError,
  ModelPermissionDeniedError,
  ModelProviderUnreachableError,
  ModelQuotaExceededError,
  ModelRateLimitError,
  ModelRequestAdmissionRejectedError,
  ModelRequestAdmissionTimeoutError,
  ModelResponseTooLargeError,
  ModelTimeoutError,
  ModelTruncatedResponseError,
  ModelUnprocessableEntityError,
  ModelUnsupportedCapabilityError,
  ModelUnsupportedParamsError
} from "./ModelError.js"
export { type ModelErrorKind, modelErrorKindOf, modelErrorKinds } from "./ModelErrorKind.js"
export {
  type HttpFailure,
  ProviderError,
  providerErrorFromHttp,
  providerErrorFromTransport,
  providerErrorFromUnknown,
  type ProviderIdentity
} from "./ProviderError.js"
export { ProviderErrorKind, providerErrorKinds } from "./ProviderErrorKind.js"
export { redactSecrets } from "./redaction.js"
export {
  defaultMaxRetryAfterSeconds,
  parseRetryAfter,
  parseRetryAfterAt,
  type RetryAfterOptions
} from "./RetryAfter.js"
export {
  type BoundedRetryable,
  isBoundedRetryable,
  isModelError,
  isPreservedRetryable,
  modelErrorPolicies,
  type NonRetryable,
  type PreservedRetryable,
  providerErrorKindPolicies,
  type RetryPolicy,
  retryPolicyOf,
  type TagsWithPolicy
} from "./RetryPolicy.js"
export {
  type AdmissionRejectedFacts,
  type AdmissionTimeoutFacts,
  generationValidationError,
  type GenerationValidationFacts,
  requestAdmissionRejectedError,
  requestAdmissionTimeoutError,
  toModelError,
  type ToModelErrorOptions,
  truncatedResponseError,
  type TruncatedResponseFacts
} from "./toModelError.js"
export { classifyTransportFailure, describeTransportFailure } from "./transportClassification.js"
