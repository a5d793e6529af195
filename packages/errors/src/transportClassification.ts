import type { ProviderErrorKind } from "./ProviderErrorKind.js"

// Node and undici report transport failures through error names and codes, not statuses.
const timeoutMarkers = ["timeout", "etimedout", "aborterror"]
const connectionMarkers = [
  "connection",
  "connect",
  "econnrefused",
  "econnreset",
  "enotfound",
  "eai_again",
  "epipe",
  "socket",
  "other side closed",
  // TLS: a certificate the client refuses, or a handshake that fails (e.g. https to a plain-http port).
  "cert",
  "tls",
  "ssl"
]

const markersOf = (failure: unknown, depth = 0): string => {
  if (typeof failure === "string") return failure.toLowerCase()
  if (typeof failure !== "object" || failure === null) return ""
  const record = failure as { readonly name?: unknown; readonly code?: unknown; readonly _tag?: unknown }
  const constructorName = (failure as { readonly constructor?: { readonly name?: unknown } }).constructor?.name
  const own = [record.name, record.code, record._tag, constructorName]
    .filter((part): part is string => typeof part === "string")
    .join(" ")
    .toLowerCase()
  // fetch wraps the socket error: `TypeError: fetch failed` whose `cause.code` is ECONNREFUSED.
  const cause = (failure as { readonly cause?: unknown }).cause
  return depth < 2 && cause !== undefined ? `${own} ${markersOf(cause, depth + 1)}` : own
}

/**
 * Classifies a failure that has no HTTP status by its type name and code: timeouts first (a connect timeout is a
 * timeout), then connection failures (refused, reset, DNS, TLS), authentication and rate-limit names, else
 * `api_error`. A plain string ("timeout", "connection refused") is read the same way.
 */
export const classifyTransportFailure = (failure: unknown): ProviderErrorKind => {
  const markers = markersOf(failure)
  if (timeoutMarkers.some((marker) => markers.includes(marker))) return "timeout"
  if (connectionMarkers.some((marker) => markers.includes(marker))) return "api_connection"
  if (markers.includes("auth")) return "authentication"
  if (markers.includes("ratelimit") || markers.includes("rate_limit")) return "rate_limit"
  return "api_error"
}

interface FailureFields {
  readonly message?: unknown
  readonly code?: unknown
  readonly cause?: unknown
  readonly errors?: unknown
}

// The words of one error: its message, with its code in front when the message does not already name it (Node's
// socket errors do: "connect ECONNREFUSED 127.0.0.1:9"; TLS errors do not: "self-signed certificate").
const ownText = (failure: FailureFields): string => {
  const message = typeof failure.message === "string" ? failure.message.trim() : ""
  const code = typeof failure.code === "string" ? failure.code : ""
  if (code === "" || message.includes(code)) return message
  return message === "" ? code : `${code}: ${message}`
}

/**
 * What the OS or the HTTP stack said about a failure without a status, in its own words (error code and address
 * included): "connect ECONNREFUSED 127.0.0.1:9", "getaddrinfo ENOTFOUND api.example",
 * "DEPTH_ZERO_SELF_SIGNED_CERT: self-signed certificate". A wrapper's cause (fetch's "fetch failed") and the
 * attempts of an `AggregateError` (one per address tried) are looked through.
 */
export const describeTransportFailure = (failure: unknown, depth = 0): string => {
  if (typeof failure === "string") return failure
  if (typeof failure !== "object" || failure === null) return String(failure)
  const fields = failure as FailureFields
  const own = ownText(fields)
  if (depth < 2 && Array.isArray(fields.errors) && fields.errors.length > 0) {
    const parts = [...new Set(fields.errors.map((inner: unknown) => describeTransportFailure(inner, depth + 1)))]
    return parts.filter((part) => part !== "").join("; ") || own
  }
  if (depth < 2 && fields.cause !== undefined) {
    const inner = describeTransportFailure(fields.cause, depth + 1)
    if (inner !== "" && inner !== own) return own === "" ? inner : `${own}: ${inner}`
  }
  return own
}
