/**
 * The adaptive limit of one domain: AIMD, cooldowns and the startup ramp, as transitions over the
 * domain's state at `now`. They mutate only the domain record, and leave their consequences
 * (events, resizes, timers, capacity views) with `Work` and its outbox, so they run inside one
 * synchronous step and never run an effect.
 */
import { isProviderOutcome, type ReleaseOutcome } from "../../ReleaseOutcome.js"
import { effectiveMax, effectiveMaxOf, initialLimitOf, rampValue } from "./arithmetic.js"
import type { Domain } from "./records.js"
import type { Work } from "./Work.js"

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
    work.outbox.emit(
      now,
      value > previous
        ? {
          _tag: "request_limit_increased",
          resource: domain.resource,
          previousLimit: previous,
          limit: value,
          reason: "ramp"
        }
        : {
          _tag: "request_limit_decreased",
          resource: domain.resource,
          previousLimit: previous,
          limit: value,
          reason: "ramp",
          rateLimitCeiling: domain.rateLimitCeiling
        }
    )
  }
  work.limitChanged(domain, now)
  return true
}

/** When the next ramp step is due (ms), for the domain's timer. */
export const nextRampStepAt = (work: Work, domain: Domain, now: number): number => {
  const config = work.config
  const target = initialLimitOf(config, domain.label, effectiveMax(config, domain))
  const stepAt = domain.rampStartedAt +
    Math.ceil((domain.currentLimit * config.startupRampMs) / Math.max(1, target - 1))
  return Math.max(stepAt, now + 1)
}

/** Ends a cooldown: at its time (`expired`), or early because the half-open probe succeeded. */
const endCooldown = (work: Work, domain: Domain, now: number, reason: "expired" | "probe_succeeded"): void => {
  domain.cooling = false
  // 0 = "not blocked": lets acquires take the hot path again without reading the clock.
  domain.blockedUntil = 0
  domain.halfOpen = false
  domain.probeLeaseId = 0
  work.reopened(domain)
  if (work.outbox.listening()) {
    work.outbox.emit(now, {
      _tag: "request_cooldown_ended",
      resource: domain.resource,
      limit: domain.currentLimit,
      reason
    })
  }
  work.publishCapacity(domain, now)
}

/** Ends the cooldown if its time has come; returns true if it did. */
export const endCooldownIfDue = (work: Work, domain: Domain, now: number): boolean => {
  if (!domain.cooling || domain.blockedUntil > now) return false
  endCooldown(work, domain, now, "expired")
  return true
}

/**
 * A lease was admitted: if the domain was half-open, that lease is the probe, and the domain closes
 * again until it comes back (at most one probe in flight).
 */
export const onAdmitted = (work: Work, domain: Domain, leaseId: number, now: number): void => {
  if (!domain.halfOpen) return
  domain.halfOpen = false
  domain.probeLeaseId = leaseId
  work.publishCapacity(domain, now)
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
  // The first 429 ends slow start: the decrease and the in-flight clamp take over from the window.
  if (domain.slowStart) {
    domain.slowStart = false
    domain.firstWave = false
    work.resize(domain)
  }
  // A fresh 429 closes a half-open domain again; the next success may open another probe.
  domain.halfOpen = false
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
    // A probe at (or above) the known ceiling failed again: the next climb to it waits twice as long.
    // A 429 at a new, lower level starts counting afresh.
    const ceiling = domain.rateLimitCeiling
    domain.probeFailures = ceiling > 0 && admittedLimit >= ceiling ? domain.probeFailures + 1 : 0
    domain.rateLimitCeiling = Math.max(1, admittedLimit)
    domain.recovering = true
    domain.softCeilingPending = true
    limitLowered(work, domain, previous, now, notify, "rate_limited")
  }
  // The provider refused while `inFlight` others ran: its capacity is at most that. Every 429 of a
  // cascade may lower the limit further this way (the ×factor above stays once per cascade).
  if (config.decreaseToInFlight && domain.inFlight < domain.currentLimit) {
    const previous = domain.currentLimit
    domain.currentLimit = Math.max(1, domain.inFlight)
    limitLowered(work, domain, previous, now, notify, "in_flight")
  }
  if (notify) {
    outbox.emit(now, {
      _tag: "request_rate_limited",
      resource: domain.resource,
      group,
      leaseId,
      ...(retryAfter === undefined ? {} : { retryAfterSeconds: retryAfter }),
      blockedUntilMillis: blockedUntil,
      limit: domain.currentLimit
    })
  }
  if (extended) {
    domain.cooling = true
    work.ensureTimer(domain, blockedUntil)
  }
  work.publishCapacity(domain, now)
}

/** After a decrease: announce it (when someone listens) and resize the domain's permits. */
const limitLowered = (
  work: Work,
  domain: Domain,
  previous: number,
  now: number,
  notify: boolean,
  reason: "rate_limited" | "in_flight"
) => {
  if (domain.currentLimit === previous) return
  if (notify) {
    work.outbox.emit(now, {
      _tag: "request_limit_decreased",
      resource: domain.resource,
      previousLimit: previous,
      limit: domain.currentLimit,
      reason,
      rateLimitCeiling: domain.rateLimitCeiling
    })
  }
  work.resize(domain)
}

/**
 * A fresh resource's first wave is all in flight: unless a 429 comes back first, the rest of the limit opens
 * `slowStartProbeMs` later (on the domain's timer), or at the first answer if that is earlier.
 */
export const onFirstWaveFull = (work: Work, domain: Domain, now: number): void => {
  const probe = work.config.slowStartProbeMs
  if (probe === null || domain.firstWaveOpensAt !== Infinity) return
  domain.firstWaveOpensAt = now + probe
  work.ensureTimer(domain, domain.firstWaveOpensAt)
}

/** The first wave drew no 429 for the probe period: the declared limit opens. Returns true if it did. */
export const openFirstWaveIfDue = (work: Work, domain: Domain, now: number): boolean => {
  if (!domain.firstWave || !domain.slowStart || now < domain.firstWaveOpensAt) return false
  openFirstWave(work, domain, now)
  return true
}

/** When the first wave opens (ms), for the domain's timer; Infinity when it is not waiting to. */
export const firstWaveOpensAt = (domain: Domain): number =>
  domain.firstWave && domain.slowStart ? domain.firstWaveOpensAt : Infinity

const openFirstWave = (work: Work, domain: Domain, now: number): void => {
  domain.slowStart = false
  domain.firstWave = false
  work.limitChanged(domain, now)
}

/** `clock` reads the time only if a rule needs it: the common success (a streak step) needs none. */
const onSuccess = (work: Work, domain: Domain, clock: () => number) => {
  const config = work.config
  const outbox = work.outbox
  if (domain.rampActive) {
    refreshRamp(work, domain, clock())
    // Successes do not count while the ramp is still climbing.
    if (domain.rampActive) {
      domain.successStreak = 0
      return
    }
  }
  if (domain.slowStart) {
    if (domain.firstWave) {
      // A fresh resource's first answer opens the declared limit: an endpoint that serves less than the
      // first wave has already said so with 429s, which come back faster than answers and end slow start.
      openFirstWave(work, domain, clock())
    } else {
      // After a cap raise: one more admission per success, so the window doubles per round trip.
      domain.window++
      if (domain.window >= domain.currentLimit) domain.slowStart = false
      work.limitChanged(domain, clock())
    }
  }
  // 0: never blocked.
  if (domain.blockedUntil !== 0 && clock() < domain.blockedUntil) return
  domain.consecutiveRateLimits = 0
  const streak = ++domain.successStreak
  const base = config.successesUntilIncrease
  // Every rule below needs at least a full streak: the common success stops here.
  if (streak < base) return
  const ceiling = domain.rateLimitCeiling
  // A probe at the ceiling that held for a full streak succeeded: climbing on costs the normal rate.
  if (domain.probeFailures > 0 && domain.currentLimit >= ceiling && streak >= base) domain.probeFailures = 0
  // Climbing to (or past) the last ceiling is a probe: 2^k × the successes after k failed probes there.
  const needed =
    config.ceilingProbeBackoff && ceiling > 0 && domain.currentLimit + config.additiveIncreaseStep >= ceiling
      ? base * 2 ** domain.probeFailures
      : base
  if (streak < needed) return
  domain.successStreak = 0
  const previous = domain.currentLimit
  const max = effectiveMax(config, domain)
  domain.currentLimit = Math.min(max, previous + config.additiveIncreaseStep)
  if (domain.currentLimit === previous) return
  const now = clock()
  const notify = outbox.listening()
  if (notify) {
    outbox.emit(now, {
      _tag: "request_limit_increased",
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
        _tag: "request_soft_ceiling_recovered",
        resource: domain.resource,
        limit: domain.currentLimit,
        rateLimitCeiling: domain.rateLimitCeiling
      })
    }
  }
  if (domain.recovering && domain.currentLimit === max) {
    domain.recovering = false
    domain.softCeilingPending = false
    if (notify) outbox.emit(now, { _tag: "request_fully_recovered", resource: domain.resource, limit: max })
  }
  work.limitChanged(domain, now)
}

/**
 * A lease of the domain was released with `outcome` (its counters already decremented). Only a 429
 * decreases and cools down; successes outside a cooldown climb; other provider trouble resets the streak.
 * `clock` is the step's time, read only if a rule needs it.
 */
export const onRelease = (
  work: Work,
  domain: Domain,
  lease: { readonly id: number; readonly admittedLimit: number; readonly group: string },
  outcome: ReleaseOutcome,
  clock: () => number
): void => {
  const probe = domain.probeLeaseId !== 0 && lease.id === domain.probeLeaseId
  if (probe) domain.probeLeaseId = 0
  switch (outcome.kind) {
    case "rate_limited":
      return onRateLimited(work, domain, lease.admittedLimit, lease.group, lease.id, outcome.retryAfterSeconds, clock())
    case "success":
      if (domain.blockedUntil !== 0 && domain.cooling && domain.blockedUntil > clock()) {
        const now = clock()
        if (probe) {
          // The probe got through: the provider serves again, so the cooldown is over.
          endCooldown(work, domain, now, "probe_succeeded")
        } else if (work.config.halfOpenCooldown && domain.probeLeaseId === 0) {
          // The provider is serving during the cooldown: let exactly one probe start (again, with the
          // view's inFlight + 1 brought up to date, while none has started yet).
          domain.halfOpen = true
          work.reopened(domain)
          work.publishCapacity(domain, now)
        }
      }
      return onSuccess(work, domain, clock)
    default: {
      if (!isProviderOutcome(outcome.kind)) return
      // Provider trouble other than a 429: do not climb on a streak that spans it.
      domain.successStreak = 0
      if (domain.inFlight === 0) domain.consecutiveRateLimits = 0
    }
  }
}

/**
 * The static cap changed: lowering clamps at once; raising lifts the ceiling additive increase climbs
 * to, forgets failed probes, and — for a domain that was at its declared max and never rate limited,
 * so nothing is known below the cap — lifts the limit too, behind a slow-start window that starts
 * where admissions were.
 */
export const onCapChanged = (work: Work, domain: Domain, previousCap: number, now: number): void => {
  const config = work.config
  const max = effectiveMax(config, domain)
  const previousMax = effectiveMaxOf(config, domain.label, previousCap)
  if (max > previousMax) {
    domain.probeFailures = 0
    if (
      config.slowStart && !domain.rampActive && domain.rateLimitCeiling === 0 && domain.currentLimit === previousMax
    ) {
      const previous = domain.currentLimit
      domain.window = domain.slowStart ? Math.min(domain.window, previous) : previous
      domain.slowStart = true
      domain.firstWave = false
      domain.currentLimit = max
      if (work.outbox.listening()) {
        work.outbox.emit(now, {
          _tag: "request_limit_increased",
          resource: domain.resource,
          previousLimit: previous,
          limit: max,
          reason: "static_cap"
        })
      }
      work.limitChanged(domain, now)
      return
    }
  }
  if (domain.currentLimit <= max) {
    if (domain.slowStart && domain.window >= domain.currentLimit) domain.slowStart = false
    work.publishCapacity(domain, now)
    return
  }
  const previous = domain.currentLimit
  domain.currentLimit = max
  if (domain.slowStart && domain.window >= max) domain.slowStart = false
  if (work.outbox.listening()) {
    work.outbox.emit(now, {
      _tag: "request_limit_decreased",
      resource: domain.resource,
      previousLimit: previous,
      limit: max,
      reason: "static_cap",
      rateLimitCeiling: domain.rateLimitCeiling
    })
  }
  work.limitChanged(domain, now)
}
