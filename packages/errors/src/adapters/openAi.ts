import { Effect } from "effect"
import type { HeadersInput } from "../headers.js"
import type { ProviderError, ProviderIdentity } from "../ProviderError.js"
import type { RetryAfterOptions } from "../RetryAfter.js"
import { providerErrorFromSdkHttp, providerErrorFromSdkTransport } from "./sdkFailure.js"

/**
 * What `fromOpenAiError` reads of openai-node's `APIError` (and its subclasses `RateLimitError`,
 * `AuthenticationError`, `InternalServerError`, `APIConnectionError`, …): the HTTP status (none for connection
 * failures, timeouts and aborts), the response headers, the JSON body's `error` object and the message.
 */
export interface OpenAiErrorLike {
  readonly status: number | undefined
  readonly headers?: HeadersInput | undefined
  readonly error?: unknown
  readonly message: string
}

const constructorNames = (value: object): ReadonlyArray<string> => {
  const names: Array<string> = []
  for (
    let proto = Object.getPrototypeOf(value);
    proto !== null && names.length < 8;
    proto = Object.getPrototypeOf(proto)
  ) {
    const name = (proto as { readonly constructor?: { readonly name?: unknown } }).constructor?.name
    if (typeof name === "string") names.push(name)
  }
  return names
}

/**
 * Recognises openai-node's `APIError` family without importing it: an `Error` with `status`, `headers` and
 * `error` fields, and either the `requestID` field every `APIError` sets or `APIError` among its classes.
 */
export const isOpenAiError = (u: unknown): u is OpenAiErrorLike => {
  if (!(u instanceof Error)) return false
  if (!("status" in u && "headers" in u && "error" in u)) return false
  const status = (u as { readonly status: unknown }).status
  if (status !== undefined && typeof status !== "number") return false
  return "requestID" in u || constructorNames(u).includes("APIError")
}

// openai-node puts a non-JSON error body in the message behind the status ("503 upstream unavailable").
const rawBodyOf = (error: OpenAiErrorLike, status: number): string | undefined => {
  const prefix = `${status} `
  if (!error.message.startsWith(prefix)) return undefined
  const text = error.message.slice(prefix.length)
  return text === "status code (no body)" ? undefined : text
}

/**
 * Turns an openai-node `APIError` into a `ProviderError`. An answer is classified from its status and JSON body
 * (a 400 that names the context length is `context_window_exceeded`, a 429 that names the quota
 * `quota_exceeded`), with the wait of a 429 from `retry-after-ms` or `Retry-After` and the provider's own
 * message. Without a status, `APIConnectionTimeoutError` and an aborted request (`APIUserAbortError`, like any
 * abort) are a `timeout`, and `APIConnectionError` is `api_connection`.
 *
 * openai-node retries 429s and 5xx twice by default, sleeping inside whatever admission lease the call holds:
 * construct the client with `maxRetries: 0` so that every 429 reaches the caller.
 */
export const fromOpenAiError = (
  error: OpenAiErrorLike,
  identity: ProviderIdentity,
  options: RetryAfterOptions = {}
): Effect.Effect<ProviderError> => {
  const status = error.status
  if (status === undefined) return Effect.succeed(providerErrorFromSdkTransport(error, identity, "api_connection"))
  return providerErrorFromSdkHttp(
    {
      status,
      body: error.error === undefined || error.error === null
        ? rawBodyOf(error, status)
        : JSON.stringify({ error: error.error }),
      headers: error.headers,
      cause: error
    },
    identity,
    options
  )
}
