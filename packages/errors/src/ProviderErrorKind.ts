import { Schema } from "effect"

/**
 * What went wrong with one provider request, in the anchor's vocabulary. `request_admission_timeout` is local
 * (the request never left this process); every other kind describes the provider's or the transport's answer.
 */
export const providerErrorKinds = [
  "api_error",
  "api_connection",
  "authentication",
  "context_window_exceeded",
  "quota_exceeded",
  "unsupported_params",
  "bad_request",
  "internal_server",
  "not_found",
  "permission_denied",
  "rate_limit",
  "request_admission_timeout",
  "timeout",
  "unprocessable_entity",
  "unsupported_capability"
] as const

export type ProviderErrorKind = (typeof providerErrorKinds)[number]

export const ProviderErrorKind = Schema.Literals(providerErrorKinds)
