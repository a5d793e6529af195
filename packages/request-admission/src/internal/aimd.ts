/**
 * The adaptive limit of one domain: AIMD, cooldowns and the startup ramp, as transitions over the
 * domain's state at `now`. They mutate only the domain record, and leave their consequences
 * (events, resizes, timers, capacity views) with `Work` and its outbox, so they run inside one
 * synchronous step and never run an effect.
 */
import { isProviderOutcome, type ReleaseOutcome } from "../ReleaseOutcome.js"
import { effectiveMax, initialLimitOf, rampValue } from "./limits.js"
import type { Domain } from "./state.js"
import type { Work } from "./work.js"

/** Applies the startup ramp; returns true if the limit moved. */
export const refreshRamp = (work: Work, domain: Domain, now: number): boolean => {
  const config = work.config
  const value = rampValue(config, domain, now)
  if (value === undefined) return false
  const target = initialLimitOf(config, domain.label, effectiveMax(config, domain))
  if (value >= target) domain.rampActive = false
  if (value === domain.currentLimit) return false
  const previous = domain.currentLimit
  domain.currentLimit = value
  if (work.outbox.listening()) {
    work.outbox.emit(now, {
      kind: value > previous ? "request_limit_increased" : "request_limit_decreased",
      resource: domain.resource,
      previousLimit: previous,
      limit: value,
      reason: "ramp"
    })
  }
  work.limitChanged(domain, now)
  return true
}

/** When the next ramp step is due (ms), for the domain's timer. */
export const nextRampStepAt = (work: Work, domain: Domain, now: number): number => {
  const config = work.config
  const target = initialLimitOf(config, domain.label, effectiveMax(config, domain))
  const stepAt = domain.rampStartedAt + Math.ceil((domain.currentLimit * config.startupRampMs) / Math.max(1, target - 1))
  return Math.max(stepAt, now + 1)
}

/** Ends the cooldown if its time has come; returns true if it did. */
export const endCooldownIfDue = (work: Work, domain: Domain, now: number): boolean => {
  if (!domain.cooling || domain.blockedUntil > now) return false
  domain.cooling = false
  // 0 = "not blocked": lets acquires take the hot path again without reading the clock.
  domain.blockedUntil = 0
  if (work.outbox.listening()) {
    work.outbox.emit(now, { kind: "request_cooldown_ended", resource: domain.resource, limit: domain.currentLimit })
  }
  work.publishCapacity(domain, now)
  return true
}

const onRateLimited = (
  work: Work,
  domain: Domain,
  admittedLimit: number,
  group: string,
  leaseId: number,
  retryAfter: number | undefined,
  now: number
) => {
  const config = work.config
  const outbox = work.outbox
  const notify = outbox.listening()
  // Bring the ramp up to date before the 429 aborts it, so the decrease starts from the real value.
  if (domain.rampActive) refreshRamp(work, domain, now)
  domain.rampActive = false
  domain.consecutiveRateLimits++
  domain.successStreak = 0
  const cooldownMs = retryAfter !== undefined && retryAfter > 0 && Number.isFinite(retryAfter)
    ? retryAfter * 1000
    : config.cooldownMs
  // A later 429 never shortens an active cooldown.
  // Whole milliseconds: the cooldown timer wakes exactly at the end, never a fraction before it.
  const blockedUntil = Math.max(domain.blockedUntil, now + Math.ceil(cooldownMs))
  const extended = blockedUntil !== domain.blockedUntil
  domain.blockedUntil = blockedUntil
  // Once per cascade: a lease admitted above the current limit was part of a burst already punished.
  if (admittedLimit <= domain.currentLimit) {
    const previous = domain.currentLimit
    domain.currentLimit = Math.max(1, Math.floor(previous * config.decreaseFactor))
    domain.rateLimitCeiling = Math.max(1, admittedLimit)
    domain.recovering = true
    domain.softCeilingPending = true
    if (domain.currentLimit !== previous) {
      if (notify) {
        outbox.emit(now, {
          kind: "request_limit_decreased",
          resource: domain.resource,
          previousLimit: previous,
          limit: domain.currentLimit,
          rateLimitCeiling: domain.rateLimitCeiling
        })
      }
      work.resize(domain)
    }
  }
  if (notify) {
    outbox.emit(now, {
      kind: "request_rate_limited",
      resource: domain.resource,
      group,
      leaseId,
      retryAfterSeconds: retryAfter,
      blockedUntilMillis: blockedUntil,
      limit: domain.currentLimit
    })
  }
  if (extended) {
    domain.cooling = true
    work.ensureTimer(domain)
  }
  work.publishCapacity(domain, now)
}

const onSuccess = (work: Work, domain: Domain, now: number) => {
  const config = work.config
  const outbox = work.outbox
  if (domain.rampActive) {
    refreshRamp(work, domain, now)
    // Successes do not count while the ramp is still climbing.
    if (domain.rampActive) {
      domain.successStreak = 0
      return
    }
  }
  if (now < domain.blockedUntil) return
  domain.consecutiveRateLimits = 0
  if (++domain.successStreak < config.successesUntilIncrease) return
  domain.successStreak = 0
  const previous = domain.currentLimit
  const max = effectiveMax(config, domain)
  domain.currentLimit = Math.min(max, previous + config.additiveIncreaseStep)
  if (domain.currentLimit === previous) return
  const notify = outbox.listening()
  if (notify) {
    outbox.emit(now, {
      kind: "request_limit_increased",
      resource: domain.resource,
      previousLimit: previous,
      limit: domain.currentLimit,
      reason: "additive"
    })
  }
  if (domain.softCeilingPending && domain.currentLimit > domain.rateLimitCeiling) {
    domain.softCeilingPending = false
    if (notify) {
      outbox.emit(now, {
        kind: "request_soft_ceiling_recovered",
        resource: domain.resource,
        limit: domain.currentLimit,
        rateLimitCeiling: domain.rateLimitCeiling
      })
    }
  }
  if (domain.recovering && domain.currentLimit === max) {
    domain.recovering = false
    domain.softCeilingPending = false
    if (notify) outbox.emit(now, { kind: "request_fully_recovered", resource: domain.resource, limit: max })
  }
  work.limitChanged(domain, now)
}

/**
 * A lease of the domain was released with `outcome` (its counters already decremented). Only a 429
 * decreases and cools down; successes outside a cooldown climb; other provider trouble resets the streak.
 */
export const onRelease = (
  work: Work,
  domain: Domain,
  admittedLimit: number,
  group: string,
  leaseId: number,
  outcome: ReleaseOutcome,
  now: number
): void => {
  switch (outcome.kind) {
    case "rate_limited":
      return onRateLimited(work, domain, admittedLimit, group, leaseId, outcome.retryAfterSeconds, now)
    case "success":
      return onSuccess(work, domain, now)
    default: {
      if (!isProviderOutcome(outcome.kind)) return
      // Provider trouble other than a 429: do not climb on a streak that spans it.
      domain.successStreak = 0
      if (domain.inFlight === 0) domain.consecutiveRateLimits = 0
    }
  }
}

/** The static cap changed: lowering clamps at once; raising only lifts the ceiling additive increase climbs to. */
export const onCapChanged = (work: Work, domain: Domain, now: number): void => {
  const max = effectiveMax(work.config, domain)
  if (domain.currentLimit <= max) {
    work.publishCapacity(domain, now)
    return
  }
  const previous = domain.currentLimit
  domain.currentLimit = max
  if (work.outbox.listening()) {
    work.outbox.emit(now, {
      kind: "request_limit_decreased",
      resource: domain.resource,
      previousLimit: previous,
      limit: max,
      reason: "static_cap"
    })
  }
  work.limitChanged(domain, now)
}
