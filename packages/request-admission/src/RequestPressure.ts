/**
 * Read-only views of the controller: pressure snapshots, the scheduler-facing capacity view, and the
 * leak view. Reading them never creates state.
 */
import type { ProviderModelKey, RequestResourceKey } from "@sluice/scheduling-resources"
import type { ReleaseOutcomeKind } from "./ReleaseOutcome.js"

/** Per provider/model/domain. */
export interface RequestPressure {
  readonly resource: RequestResourceKey
  readonly capturedAtMillis: number
  /** The adaptive (AIMD) limit. */
  readonly currentLimit: number
  /** `max(1, min(static cap, clamp))`: the ceiling additive increase climbs to. */
  readonly effectiveMax: number
  readonly inFlight: number
  readonly waiters: number
  /** Set while a cooldown is active. */
  readonly blockedUntilMillis: number | null
  readonly cooldownRemainingMs: number
  /** Admitted limit of the most recent decreasing 429 (0 = never rate limited). */
  readonly rateLimitCeiling: number
  readonly consecutiveRateLimits: number
  readonly lastOutcome: ReleaseOutcomeKind | null
  readonly rampActive: boolean
  /** The slow-start window bounding admissions (≤ `currentLimit`), or `null` once slow start is over. */
  readonly slowStartWindow: number | null
  /** Cooling down, but one probe may start now (a success arrived during the cooldown). */
  readonly halfOpen: boolean
  /** Consecutive failed probes at `rateLimitCeiling` (each doubles the successes needed to reach it again). */
  readonly ceilingProbeFailures: number
}

/** Per provider/model. */
export interface ProviderModelPressure {
  readonly providerModel: ProviderModelKey
  readonly capturedAtMillis: number
  /** Min of the caps of every alias that names this provider/model. */
  readonly staticCap: number
  readonly inFlight: number
  readonly waiters: number
  readonly aliases: ReadonlyArray<string>
  readonly caps: Readonly<Record<string, number>>
  /** Current adaptive limit per domain that has been used. */
  readonly domains: Readonly<Record<string, number>>
  /** The RPM / TPM budget shared by every domain, when one is configured. */
  readonly budget?: ProviderModelBudget | undefined
}

/**
 * A provider/model's RPM / TPM budget now: each rate (`null`: not limited) and what its bucket holds (at most one
 * minute's worth; negative while a call's usage above its estimate is being repaid).
 */
export interface ProviderModelBudget {
  readonly requestsPerMinute: number | null
  readonly requestsAvailable: number | null
  readonly tokensPerMinute: number | null
  readonly tokensAvailable: number | null
}

/** The leak view: all zeros once everything has settled. */
export interface RequestAdmissionInspection {
  readonly activeLeases: number
  readonly waiters: number
  /** Releases that changed nothing. */
  readonly duplicateReleases: number
  readonly foreignReleases: number
  /** Events not delivered because a subscriber was more than `eventBufferSize` behind. */
  readonly droppedEvents: number
  readonly shutdown: boolean
}
