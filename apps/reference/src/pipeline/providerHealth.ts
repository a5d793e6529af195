import { ProviderError } from "@sluice/errors"
import type { UnreachableAfter } from "../config/schema.js"

/**
 * Why a provider was declared down: it could not be reached, it rejected the API key, or it answered for a long
 * time without one usable answer (only server errors, rate limits, garbled or empty answers).
 */
export type DownReason = "unreachable" | "authentication" | "failing"

export interface ProviderDown {
  readonly reason: DownReason
  /** The OS's or the provider's own words: "connect ECONNREFUSED 127.0.0.1:9", "Incorrect API key provided…". */
  readonly message: string
  readonly sinceMillis: number
  /** Connection failures in a row when it was declared down (1 for an authentication failure). */
  readonly failures: number
  /** Whether the provider had answered at all in this run before. */
  readonly hadAnswered: boolean
  /** Some of the failures were attempts that timed out without an answer (a provider that hangs). */
  readonly silent: boolean
  /** `failing`: every failure of the streak was a 429 (a provider that only says "later", for too long). */
  readonly rateLimitedOnly: boolean
  /** `failing`: how long the provider had answered without one usable answer, in seconds. */
  readonly failingSeconds: number
}

/** What the progress display reads about a provider (a copy: reading it changes nothing). */
export interface ProviderHealthSnapshot {
  readonly provider: string
  readonly down: ProviderDown | undefined
  /** The last 429: when, and its Retry-After (already capped) if it sent one — why a cooling provider cools. */
  readonly lastRateLimit: { readonly atMillis: number; readonly retryAfterSeconds: number | undefined } | undefined
  readonly maxRetryAfterSeconds: number
}

/** A failed attempt as the breaker judged it: the error to report, and whether it just declared the provider down. */
export interface FailureVerdict {
  readonly error: ProviderError
  readonly wentDown: boolean
}

// undici's connect timeout: the TCP connection never came up, which says as much about reachability as a refusal.
const connectTimeoutMarkers = ["UND_ERR_CONNECT_TIMEOUT", "ConnectTimeoutError"]

const isConnectTimeout = (cause: unknown, depth = 0): boolean => {
  if (typeof cause !== "object" || cause === null || depth > 2) return false
  const { code, name, cause: inner } = cause as { code?: unknown; name?: unknown; cause?: unknown }
  return connectTimeoutMarkers.some((marker) => marker === code || marker === name) ||
    isConnectTimeout(inner, depth + 1)
}

/**
 * Did this attempt fail to reach the provider at all? Refused, reset, DNS and TLS failures (`api_connection`),
 * connect timeouts, and 403 answers (a key or an account locked out of the endpoint). Any other answer with a
 * status proves the provider reachable.
 */
const isReachabilityFailure = (error: ProviderError): boolean => {
  if (error.status === 403) return true
  if (error.status !== undefined) return false
  return error.kind === "api_connection" || (error.kind === "timeout" && isConnectTimeout(error.cause))
}

/**
 * Did this attempt time out without any answer? A provider that accepts connections and never answers is as dead as
 * one that refuses them, but so may look a provider stalled for a while: these count only with the grace period.
 */
const isSilence = (error: ProviderError): boolean => error.kind === "timeout" && error.status === undefined

/**
 * Failures that mean the provider answered nothing usable: server errors, rate limits, garbled, empty or oversized
 * answers, timeouts and connection failures. A request the provider refused on its own terms (400, 404, 422: this
 * request, this model) says nothing about the provider's health and leaves the streak as it is.
 */
const noUsableAnswerKinds: ReadonlySet<string> = new Set([
  "internal_server",
  "rate_limit",
  "malformed_response",
  "response_too_large",
  "api_error",
  "timeout",
  "api_connection"
])

const wordsOf = (error: ProviderError): string =>
  error.providerMessage !== undefined && error.providerMessage !== "" ? error.providerMessage : error.message

/**
 * One provider's circuit breaker, for one run. It counts consecutive attempts that could not reach the provider
 * (see `isReachabilityFailure`) or timed out without an answer (`isSilence`); any answer resets the count. The
 * provider is declared down:
 * - at once on an authentication failure (401): every other request would be rejected the same way;
 * - after `consecutiveFailures` failures in a row, when it has not answered yet in this run and none of them was a
 *   timeout (dead from the start: the run learns it in seconds, not after every row's retries);
 * - after `consecutiveFailures` failures in a row that have lasted `graceSeconds`, when it had answered before or
 *   the provider hangs (a provider that served thousands of requests gets time to come back from a blip; one that
 *   answers nothing at all for that long, attempt after attempt, does not keep a run going for hours);
 * - after `consecutiveFailures` attempts and `withoutSuccessSeconds` without one usable answer, when it does answer
 *   but only with server errors, rate limits, garbled or empty answers (a provider that answers 503 or 429 to
 *   everything is as dead for the run as one that hangs; any usable answer starts the count again).
 *
 * Down is final for the run: calls fail at once with `provider_unreachable` (or the authentication error),
 * without network traffic, so rows that need the provider are dropped with that cause and the message, and rows
 * that need only healthy providers keep going. Times are the caller's clock millis, so tests drive it with virtual
 * time.
 */
export class ProviderHealth {
  /** Attempts since the last usable answer that got none (any of `noUsableAnswerKinds`), and since when. */
  private failing = 0
  private failingSince = 0
  private failingRateLimitedOnly = true
  private consecutiveFailures = 0
  private streakStartedAt = 0
  private streakSilent = false
  private hasAnswered = false
  private down: ProviderDown | undefined = undefined
  private lastRateLimit: ProviderHealthSnapshot["lastRateLimit"] = undefined

  constructor(
    readonly provider: string,
    private readonly settings: UnreachableAfter,
    readonly maxRetryAfterSeconds: number
  ) {}

  get isDown(): boolean {
    return this.down !== undefined
  }

  /** The error a call to `model` fails with while the provider is down (no request is sent); else undefined. */
  downError(model: string): ProviderError | undefined {
    const down = this.down
    if (down === undefined) return undefined
    return down.reason === "authentication"
      ? new ProviderError({
        kind: "authentication",
        status: 401,
        provider: this.provider,
        model,
        message: down.message
      })
      : new ProviderError({
        kind: "provider_unreachable",
        provider: this.provider,
        model,
        message: `Provider '${this.provider}' is down: ${down.message}`,
        providerMessage: down.message
      })
  }

  /** An attempt got a usable answer. */
  recordSuccess(): void {
    this.consecutiveFailures = 0
    this.failing = 0
    this.hasAnswered = true
  }

  /** Judges a failed attempt at `now`; the verdict's error is what the caller should fail with. */
  recordFailure(error: ProviderError, now: number): FailureVerdict {
    if (this.down !== undefined) {
      const replaced = error.kind === "authentication" || isReachabilityFailure(error) || isSilence(error)
      return { error: replaced ? this.downError(error.model ?? "unknown")! : error, wentDown: false }
    }
    if (error.kind === "authentication") {
      this.declareDown("authentication", wordsOf(error), now, 1)
      return { error, wentDown: true }
    }
    if (noUsableAnswerKinds.has(error.kind)) {
      if (this.failing === 0) {
        this.failingSince = now
        this.failingRateLimitedOnly = true
      }
      this.failing++
      if (error.kind !== "rate_limit") this.failingRateLimitedOnly = false
    }
    const unreachable = isReachabilityFailure(error)
    const silent = !unreachable && isSilence(error)
    if (!unreachable && !silent) {
      if (error.status !== undefined) {
        this.consecutiveFailures = 0
        this.hasAnswered = true
      }
      if (error.kind === "rate_limit") {
        this.lastRateLimit = { atMillis: now, retryAfterSeconds: error.retryAfterSeconds }
      }
      const limit = this.settings.withoutSuccessSeconds
      if (
        limit === null || this.failing < this.settings.consecutiveFailures || now - this.failingSince < limit * 1000
      ) {
        return { error, wentDown: false }
      }
      this.declareDown("failing", wordsOf(error), now, this.failing)
      return { error: this.downError(error.model ?? "unknown")!, wentDown: true }
    }
    if (this.consecutiveFailures === 0) {
      this.streakStartedAt = now
      this.streakSilent = false
    }
    this.consecutiveFailures++
    if (silent) this.streakSilent = true
    const enough = this.consecutiveFailures >= this.settings.consecutiveFailures
    const graceOver = now - this.streakStartedAt >= this.settings.graceSeconds * 1000
    const longEnough = (!this.hasAnswered && !this.streakSilent) || graceOver
    if (!enough || !longEnough) return { error, wentDown: false }
    this.declareDown("unreachable", wordsOf(error), now, this.consecutiveFailures)
    return { error: this.downError(error.model ?? "unknown")!, wentDown: true }
  }

  snapshot(): ProviderHealthSnapshot {
    return {
      provider: this.provider,
      down: this.down,
      lastRateLimit: this.lastRateLimit,
      maxRetryAfterSeconds: this.maxRetryAfterSeconds
    }
  }

  /** One line for stderr, said once when the provider is declared down. */
  downNotice(): string | undefined {
    const down = this.down
    if (down === undefined) return undefined
    if (down.reason === "authentication") {
      return `sluice: provider '${this.provider}' rejected the API key: ${down.message}; ` +
        "its rows are dropped (authentication)"
    }
    if (down.reason === "failing") {
      const what = down.rateLimitedOnly ? "only rate limits (429)" : "only errors"
      return `sluice: provider '${this.provider}' is down: it answered ${what} for ${
        Math.round(down.failingSeconds)
      } s, ${down.failures} attempts without one usable answer (last: ${down.message}); rows that need it are ` +
        "dropped (provider_unreachable). See providers[].unreachableAfter.withoutSuccessSeconds"
    }
    const when = down.hadAnswered || down.silent
      ? `for ${this.settings.graceSeconds} s or more`
      : "and it has not answered since the run started"
    const what = down.silent ? "attempts without an answer" : "connection failures"
    return `sluice: provider '${this.provider}' is down: ${down.message} (${down.failures} ${what} in a ` +
      `row ${when}); rows that need it are dropped (provider_unreachable)`
  }

  private declareDown(reason: DownReason, message: string, now: number, failures: number): void {
    this.down = {
      reason,
      message,
      sinceMillis: now,
      failures,
      hadAnswered: this.hasAnswered,
      silent: reason === "unreachable" && this.streakSilent,
      rateLimitedOnly: reason === "failing" && this.failingRateLimitedOnly,
      failingSeconds: reason === "failing" ? (now - this.failingSince) / 1000 : 0
    }
  }
}
