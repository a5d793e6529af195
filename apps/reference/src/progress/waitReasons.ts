import type { RequestPressure } from "@sluice/request-admission"
import type { ProviderHealthSnapshot } from "../pipeline/providerHealth.js"

/** A wall-clock time of day as the user's terminal shows it: HH:MM:SS, local time. */
export const clockTime = (millis: number): string => new Date(millis).toTimeString().slice(0, 8)

const coolingCause = (health: ProviderHealthSnapshot | undefined): string => {
  const retryAfter = health?.lastRateLimit?.retryAfterSeconds
  if (health?.lastRateLimit === undefined) return "cooling down"
  if (retryAfter === undefined) return "rate limited, no Retry-After"
  const seconds = Number.isInteger(retryAfter) ? `${retryAfter}` : retryAfter.toFixed(1)
  return retryAfter >= health.maxRetryAfterSeconds
    ? `Retry-After capped at ${seconds} s`
    : `Retry-After ${seconds} s`
}

/**
 * Why work is held back, per provider, in words: providers declared down (always worth saying: their rows are being
 * dropped) and, when `stalled`, providers cooling down after rate limits — until when, and on whose word — or, when
 * nothing is known to hold the run back, what it is waiting for.
 */
export const waitReasons = (
  pressures: ReadonlyArray<RequestPressure>,
  health: ReadonlyArray<ProviderHealthSnapshot>,
  nowMillis: number,
  stalled: boolean
): ReadonlyArray<string> => {
  const reasons: Array<string> = []
  for (const provider of health) {
    const down = provider.down
    if (down === undefined) continue
    reasons.push(
      down.reason === "authentication"
        ? `provider ${provider.provider} rejected the API key: ${down.message}`
        : down.reason === "failing"
        ? `provider ${provider.provider} down (${down.rateLimitedOnly ? "only rate limits" : "only errors"} for ${
          Math.round(down.failingSeconds)
        } s): ${down.message}`
        : `provider ${provider.provider} ${down.silent ? "not answering" : "unreachable"}: ${down.message}`
    )
  }
  if (!stalled) return reasons
  const blockedUntil = new Map<string, number>()
  let inFlight = 0
  for (const pressure of pressures) {
    inFlight += pressure.inFlight
    const until = pressure.blockedUntilMillis
    if (until === null || until <= nowMillis) continue
    const provider = pressure.resource.provider
    blockedUntil.set(provider, Math.max(blockedUntil.get(provider) ?? 0, until))
  }
  for (const [provider, until] of blockedUntil) {
    const snapshot = health.find((h) => h.provider === provider)
    if (snapshot?.down !== undefined) continue
    reasons.push(`provider ${provider} cooling down until ${clockTime(until)} (${coolingCause(snapshot)})`)
  }
  if (reasons.length === 0) {
    reasons.push(
      inFlight > 0
        ? `waiting on ${inFlight} request${inFlight === 1 ? "" : "s"} in flight`
        : "waiting for retries to come due"
    )
  }
  return reasons
}

/** The tail of a progress line: empty when nothing holds the run back. */
export const formatWaitReasons = (reasons: ReadonlyArray<string>, stalled: boolean): string =>
  reasons.length === 0 ? "" : `${stalled ? "nothing moves: " : ""}${reasons.join("; ")}`
