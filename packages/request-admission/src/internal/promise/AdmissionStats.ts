/**
 * `admission.stats()`: a plain snapshot of the controller (limits, in flight, waiters, cooldowns) and of what the
 * facade counted (runs, calls, 429s), per provider/model/domain and in total.
 */
import type { ProviderModelBudget, RequestPressure } from "../../RequestPressure.js"

/** One provider/model/domain. */
export interface ModelStats {
  readonly provider: string
  readonly model: string
  readonly domain: string
  /** The adaptive (AIMD) limit now. */
  readonly limit: number
  /** The ceiling the limit climbs back to (`maxParallelRequests`, or a lower clamp). */
  readonly maxParallelRequests: number
  /** Calls holding a slot now. */
  readonly inFlight: number
  /** Runs queued for a slot now. */
  readonly waiting: number
  /** Closed after a 429 until `cooldownRemainingMs` has passed (or a probe succeeds). */
  readonly coolingDown: boolean
  readonly cooldownRemainingMs: number
  /** Calls made of your function. */
  readonly attempts: number
  /** Calls answered 429 (rate limited). */
  readonly rateLimited: number
  /** Runs that resolved / rejected. */
  readonly succeeded: number
  readonly failed: number
  /**
   * The provider/model's RPM / TPM budget (shared by its domains), when one is configured: each rate and what its
   * bucket holds now (`null`: that rate is not limited).
   */
  readonly budget?: ProviderModelBudget | undefined
}

export interface AdmissionStats {
  /** `close()` was called. */
  readonly closed: boolean
  /** Runs started and not yet settled (queued, calling, or waiting to retry). */
  readonly running: number
  /** Calls holding a slot now, over every model. */
  readonly inFlight: number
  /** Runs queued for a slot now, over every model. */
  readonly waiting: number
  readonly attempts: number
  readonly rateLimited: number
  readonly succeeded: number
  readonly failed: number
  /** Every configured model's chat domain, and every provider/model/domain used so far. */
  readonly models: ReadonlyArray<ModelStats>
}

export interface Counts {
  attempts: number
  rateLimited: number
  succeeded: number
  failed: number
}

export const emptyCounts = (): Counts => ({ attempts: 0, rateLimited: 0, succeeded: 0, failed: 0 })

export const modelStats = (
  pressure: RequestPressure,
  counts: Counts,
  budget: ProviderModelBudget | undefined
): ModelStats => ({
  provider: pressure.resource.provider,
  model: pressure.resource.model,
  domain: pressure.resource.domain,
  limit: pressure.currentLimit,
  maxParallelRequests: pressure.effectiveMax,
  inFlight: pressure.inFlight,
  waiting: pressure.waiters,
  coolingDown: pressure.blockedUntilMillis !== null,
  cooldownRemainingMs: pressure.cooldownRemainingMs,
  ...counts,
  ...(budget === undefined ? {} : { budget })
})
