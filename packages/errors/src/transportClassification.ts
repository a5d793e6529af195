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
  "other side closed"
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
 * timeout), then connection failures, authentication and rate-limit names, else `api_error`. A plain string
 * ("timeout", "connection refused") is read the same way.
 */
export const classifyTransportFailure = (failure: unknown): ProviderErrorKind => {
  const markers = markersOf(failure)
  if (timeoutMarkers.some((marker) => markers.includes(marker))) return "timeout"
  if (connectionMarkers.some((marker) => markers.includes(marker))) return "api_connection"
  if (markers.includes("auth")) return "authentication"
  if (markers.includes("ratelimit") || markers.includes("rate_limit")) return "rate_limit"
  return "api_error"
}
