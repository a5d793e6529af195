import { Clock, Effect } from "effect"

/** Retry-After values above this are clamped, so a hostile or broken header cannot block a resource for hours. */
export const defaultMaxRetryAfterSeconds = 600

export interface RetryAfterOptions {
  /** Upper bound in seconds (default 600). */
  readonly maxSeconds?: number
}

const delaySecondsPattern = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/

/**
 * Parses a `Retry-After` header at a given wall-clock time: delay-seconds (fractions allowed) or an HTTP-date.
 * Returns seconds, capped at `maxSeconds`; a past date gives 0. Negative, NaN, infinite and unparseable values
 * give `undefined` (no usable hint), so the caller falls back to its own cooldown.
 */
export const parseRetryAfterAt = (
  header: string | null | undefined,
  nowMillis: number,
  options: RetryAfterOptions = {}
): number | undefined => {
  if (header === null || header === undefined) return undefined
  const text = header.trim()
  if (text === "") return undefined
  const maxSeconds = options.maxSeconds ?? defaultMaxRetryAfterSeconds
  if (delaySecondsPattern.test(text)) {
    const seconds = Number(text)
    if (!Number.isFinite(seconds) || seconds < 0) return undefined
    return Math.min(seconds, maxSeconds)
  }
  // An HTTP-date always names a month or weekday; requiring a letter keeps Date.parse's leniency
  // (it reads "12" as a year) away from garbage.
  if (!/[a-z]/i.test(text)) return undefined
  const target = Date.parse(text)
  if (!Number.isFinite(target)) return undefined
  return Math.min(Math.max(0, (target - nowMillis) / 1000), maxSeconds)
}

/** `parseRetryAfterAt` against the current `Clock` (so tests control HTTP-date arithmetic with `TestClock`). */
export const parseRetryAfter = (
  header: string | null | undefined,
  options: RetryAfterOptions = {}
): Effect.Effect<number | undefined> =>
  Effect.map(Clock.currentTimeMillis, (now) => parseRetryAfterAt(header, now, options))
