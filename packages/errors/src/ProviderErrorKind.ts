import { Schema } from "effect"

/**
 * What went wrong with one provider request. `request_admission_timeout` is local (the request never left this
 * process) and `provider_unreachable` means the request was not sent because the provider had been declared down
 * (repeated connection failures); every other kind describes the provider's or the transport's answer.
 * `malformed_response` is a 2xx whose body is not a usable answer (invalid JSON, missing fields, cut off mid-way);
 * `response_too_large` a body longer than the configured cap (read no further).
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
  "unsupported_capability",
  "malformed_response",
  "response_too_large",
  "provider_unreachable"
] as const

export type ProviderErrorKind = (typeof providerErrorKinds)[number]

export const ProviderErrorKind = Schema.Literals(providerErrorKinds)
