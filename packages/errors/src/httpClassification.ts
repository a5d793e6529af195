import { Option } from "effect"
import type { ProviderErrorKind } from "./ProviderErrorKind.js"

// Quota and billing phrases win over the status: a 429 that says "insufficient_quota" will not clear by waiting.
const quotaPhrases = [
  "credit balance is too low",
  "purchase credits",
  "out of credits",
  "not enough credits",
  "insufficient credits",
  "insufficient_quota",
  "insufficient quota",
  "quota exceeded"
]

const contextWindowPhrases = ["context window", "context length", "maximum context", "too many tokens", "max tokens"]

const unsupportedParameterPhrases = [
  "unsupported parameter",
  "not supported",
  "unknown parameter",
  "cannot both be specified",
  "please use only one",
  "mutually exclusive"
]

const containsAny = (text: string, phrases: ReadonlyArray<string>): boolean =>
  phrases.some((phrase) => text.includes(phrase))

/**
 * Classifies an HTTP answer by status and body text. The first matching rule wins: quota phrases (any status),
 * 401, 403, 404, 408, 413 or 400 with a context-length phrase, 422, 429, 400 with an unsupported-parameter
 * phrase, other 400, 5xx, and `api_error` for everything else.
 */
export const classifyHttpStatus = (status: number, body = ""): ProviderErrorKind => {
  const text = body.toLowerCase()
  if (containsAny(text, quotaPhrases)) return "quota_exceeded"
  if (status === 401) return "authentication"
  if (status === 403) return "permission_denied"
  if (status === 404) return "not_found"
  if (status === 408) return "timeout"
  if (status === 413 || (status === 400 && containsAny(text, contextWindowPhrases))) return "context_window_exceeded"
  if (status === 422) return "unprocessable_entity"
  if (status === 429) return "rate_limit"
  if (status === 400) return containsAny(text, unsupportedParameterPhrases) ? "unsupported_params" : "bad_request"
  if (status >= 500 && status <= 599) return "internal_server"
  return "api_error"
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value)

const nonBlank = (value: unknown): string | undefined =>
  typeof value === "string" && value.trim() !== "" ? value.trim() : undefined

// One field of an error body: a string, an object with `message`, or a FastAPI-style list of `{ msg }`.
const messageOfField = (value: unknown): string | undefined => {
  const text = nonBlank(value)
  if (text !== undefined) return text
  if (isRecord(value)) return nonBlank(value["message"])
  if (Array.isArray(value)) {
    const parts = value.flatMap((entry) => {
      const msg = isRecord(entry) ? nonBlank(entry["msg"]) : undefined
      return msg === undefined ? [] : [msg]
    })
    return parts.length > 0 ? parts.join("; ") : undefined
  }
  return undefined
}

// A body that is not JSON is simply not structured: `liftThrowable` turns JSON.parse's throw into `None`.
const parseJson = Option.liftThrowable((text: string): unknown => JSON.parse(text))

/**
 * The human-readable message of an error body: `message`, then `error`, then `detail` of a JSON object (strings,
 * nested `{ message }`, or lists of `{ msg }` joined with "; "); otherwise the trimmed raw text.
 */
export const extractBodyMessage = (body: string | undefined): string => {
  if (body === undefined) return ""
  const json = Option.getOrUndefined(parseJson(body))
  if (isRecord(json)) {
    for (const key of ["message", "error", "detail"]) {
      const message = messageOfField(json[key])
      if (message !== undefined) return message
    }
  }
  return body.trim()
}
