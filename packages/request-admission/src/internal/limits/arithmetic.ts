/**
 * Limit arithmetic and read-only views, as pure functions of (domain state, now, config). Creating a
 * domain and describing a never-used one go through the same `startingLimits`, so a snapshot of an
 * untouched resource always shows what its first use would start with.
 */
import type { RequestCapacityView, RequestResourceKey } from "@sluice/scheduling-resources"
import { defaultSlowStartWindow, type ResolvedConfig } from "../../config.js"
import type { ProviderModelPressure, RequestPressure } from "../../RequestPressure.js"
import { budgetView } from "./budget.js"
import type { Domain, Pool } from "./records.js"

/** `max(1, min(static cap, clamp))`: the ceiling additive increase climbs to. */
export const effectiveMaxOf = (config: ResolvedConfig, label: string, staticCap: number): number => {
  const clamp = config.maxLimitClamps.get(label)
  return Math.max(1, clamp === undefined ? staticCap : Math.min(staticCap, clamp))
}

export const effectiveMax = (config: ResolvedConfig, domain: DomainView): number =>
  effectiveMaxOf(config, domain.label, domain.pool.staticCap)

export const initialLimitOf = (config: ResolvedConfig, label: string, max: number): number =>
  Math.max(1, Math.min(config.initialLimits.get(label) ?? max, max))

/**
 * What a domain starts with: its effective max, its limit (1 while a startup ramp is to run), and
 * its slow-start window (never above the limit; slow start only when the window is below it).
 */
export const startingLimits = (config: ResolvedConfig, label: string, staticCap: number) => {
  const max = effectiveMaxOf(config, label, staticCap)
  const initial = initialLimitOf(config, label, max)
  const ramp = config.startupRampMs > 0 && initial > 1
  const limit = ramp ? 1 : initial
  const window = Math.min(config.slowStartInitialWindow ?? defaultSlowStartWindow(limit), limit)
  return { max, ramp, limit, slowStart: config.slowStart && !ramp && window < limit, window }
}

/** How many leases may be in flight: the adaptive limit, bounded by the slow-start window while it runs. */
export const admissionLimit = (domain: Pick<Domain, "slowStart" | "window" | "currentLimit">): number =>
  domain.slowStart && domain.window < domain.currentLimit ? domain.window : domain.currentLimit

/** The startup-ramp limit at `now`, or `undefined` when no ramp runs. */
export const rampValue = (config: ResolvedConfig, domain: DomainView, now: number): number | undefined => {
  if (!domain.rampActive) return undefined
  const target = initialLimitOf(config, domain.label, effectiveMax(config, domain))
  if (target <= 1) return target
  const elapsed = Math.max(0, now - domain.rampStartedAt)
  if (elapsed >= config.startupRampMs) return target
  return Math.min(target, 1 + Math.floor(((target - 1) * elapsed) / config.startupRampMs))
}

/** The fields the views read: a live domain, or the description of one that was never used. */
export type DomainView = Pick<
  Domain,
  | "resource"
  | "label"
  | "pool"
  | "currentLimit"
  | "inFlight"
  | "waiters"
  | "blockedUntil"
  | "rateLimitCeiling"
  | "consecutiveRateLimits"
  | "lastOutcome"
  | "rampActive"
  | "rampStartedAt"
  | "halfOpen"
  | "probeFailures"
  | "slowStart"
  | "window"
>

/** A never-used domain as its first use would create it (nothing is created). */
export const freshDomainView = (
  config: ResolvedConfig,
  pool: Pool,
  resource: RequestResourceKey,
  label: string
): DomainView => {
  const start = startingLimits(config, label, pool.staticCap)
  return {
    resource,
    label,
    pool,
    currentLimit: start.limit,
    inFlight: 0,
    waiters: 0,
    blockedUntil: 0,
    rateLimitCeiling: 0,
    consecutiveRateLimits: 0,
    lastOutcome: null,
    // A fresh domain's ramp has not started: it reports its starting limit, not a ramp value.
    rampActive: false,
    rampStartedAt: 0,
    halfOpen: false,
    probeFailures: 0,
    slowStart: start.slowStart,
    window: start.window
  }
}

export const capacityView = (config: ResolvedConfig, domain: DomainView, now: number): RequestCapacityView => {
  const cooling = domain.blockedUntil > now
  const limit = Math.min(
    admissionLimit(domain),
    effectiveMaxOf(config, domain.label, domain.pool.staticCap),
    domain.pool.staticCap
  )
  // Half-open: the scheduler may dispatch exactly one more task (the probe) on top of what runs.
  const probe = cooling && domain.halfOpen
  return {
    resource: domain.resource,
    limit: probe ? Math.max(1, Math.min(limit, domain.inFlight + 1)) : limit,
    staticCap: domain.pool.staticCap,
    open: !cooling || probe,
    blockedUntilMillis: cooling ? domain.blockedUntil : null,
    inFlight: domain.inFlight,
    waiters: domain.waiters
  }
}

export const pressureView = (config: ResolvedConfig, domain: DomainView, now: number): RequestPressure => {
  const ramp = rampValue(config, domain, now)
  return {
    resource: domain.resource,
    capturedAtMillis: now,
    currentLimit: ramp ?? domain.currentLimit,
    effectiveMax: effectiveMaxOf(config, domain.label, domain.pool.staticCap),
    inFlight: domain.inFlight,
    waiters: domain.waiters,
    blockedUntilMillis: domain.blockedUntil > now ? domain.blockedUntil : null,
    cooldownRemainingMs: Math.max(0, domain.blockedUntil - now),
    rateLimitCeiling: domain.rateLimitCeiling,
    consecutiveRateLimits: domain.consecutiveRateLimits,
    lastOutcome: domain.lastOutcome,
    rampActive: ramp !== undefined && domain.rampActive,
    slowStartWindow: domain.slowStart ? admissionLimit(domain) : null,
    halfOpen: domain.halfOpen && domain.blockedUntil > now,
    ceilingProbeFailures: domain.probeFailures
  }
}

export const providerModelView = (config: ResolvedConfig, pool: Pool, now: number): ProviderModelPressure => {
  const domains: Record<string, number> = {}
  for (const domain of pool.domains) {
    domains[domain.resource.domain] = rampValue(config, domain, now) ?? domain.currentLimit
  }
  return {
    providerModel: pool.key,
    capturedAtMillis: now,
    staticCap: pool.staticCap,
    inFlight: pool.inFlight,
    waiters: pool.queued,
    aliases: [...pool.capsByAlias.keys()].sort(),
    caps: Object.fromEntries(pool.capsByAlias),
    domains,
    ...(pool.budget === undefined ? {} : { budget: budgetView(pool.budget, now) })
  }
}

/** A cooling domain admits nothing new, except the one probe of a half-open cooldown. */
export const isClosed = (domain: Domain, now: number): boolean => domain.blockedUntil > now && !domain.halfOpen
