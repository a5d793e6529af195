import { Effect } from "effect"
import { type HeadersInput, headerValue } from "../headers.js"
import { defaultMaxRetryAfterSeconds, parseRetryAfter, type RetryAfterOptions } from "../RetryAfter.js"

const millisecondsPattern = /^\d+(\.\d+)?$/

/**
 * The wait a 429 asks for, from `retry-after-ms` (OpenAI's more precise header, milliseconds) or else
 * `Retry-After` (delay-seconds or an HTTP-date), capped like `parseRetryAfter`. `undefined` when neither holds a
 * usable value.
 */
export const retryAfterFromHeaders = (
  headers: HeadersInput | undefined,
  options: RetryAfterOptions = {}
): Effect.Effect<number | undefined> => {
  const millis = headerValue(headers, "retry-after-ms")?.trim()
  if (millis !== undefined && millisecondsPattern.test(millis)) {
    return Effect.succeed(Math.min(Number(millis) / 1000, options.maxSeconds ?? defaultMaxRetryAfterSeconds))
  }
  return parseRetryAfter(headerValue(headers, "retry-after"), options)
}
