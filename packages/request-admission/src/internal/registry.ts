/**
 * Registration: provider/model pools with their static caps (min over aliases), and the domains
 * created on first use. A cap change resizes the pool and clamps (never lifts) the domains' limits.
 */
import { providerModelLabel, type RequestResourceKey, requestResourceLabel } from "@sluice/scheduling-resources"
import type { ModelRegistration } from "../config.js"
import { onCapChanged, refreshRamp } from "./aimd.js"
import type { Core } from "./core.js"
import { FlowHeap } from "./FlowHeap.js"
import { startingLimits } from "./limits.js"
import { Permits } from "./permits.js"
import type { Domain, Pool } from "./state.js"

const createDomain = (core: Core, pool: Pool, resource: RequestResourceKey, now: number): Domain => {
  const label = requestResourceLabel(resource)
  const { ramp, limit, slowStart, window } = startingLimits(core.config, label, pool.staticCap)
  const domain: Domain = {
    resource: { provider: resource.provider, model: resource.model, domain: resource.domain },
    label,
    pool,
    permits: new Permits(slowStart ? window : limit),
    currentLimit: limit,
    inFlight: 0,
    waiters: 0,
    blockedUntil: 0,
    cooling: false,
    successStreak: 0,
    rateLimitCeiling: 0,
    consecutiveRateLimits: 0,
    lastOutcome: null,
    recovering: false,
    softCeilingPending: false,
    rampActive: ramp,
    rampStartedAt: now,
    halfOpen: false,
    probeLeaseId: 0,
    probeFailures: 0,
    slowStart,
    window,
    firstWave: slowStart,
    firstWaveOpensAt: Infinity,
    timerRunning: false,
    timerEpoch: 0,
    timerWakeAt: 0,
    heap: new FlowHeap(),
    flows: new Map()
  }
  pool.domains.push(domain)
  if (ramp) core.work.ensureTimer(domain)
  return domain
}

export const findDomain = (pool: Pool, resource: RequestResourceKey): Domain | undefined => {
  const domains = pool.domains
  for (let i = 0; i < domains.length; i++) {
    if (domains[i]!.resource.domain === resource.domain) return domains[i]
  }
  return undefined
}

/** The domain of an item, created on first use; its ramp is brought up to date. */
export const touchDomain = (core: Core, pool: Pool, resource: RequestResourceKey, now: number): Domain => {
  const domain = findDomain(pool, resource) ?? createDomain(core, pool, resource, now)
  if (domain.rampActive) refreshRamp(core.work, domain, now)
  return domain
}

const createPool = (core: Core, key: { provider: string; model: string }, label: string, cap: number): Pool => {
  const pool: Pool = {
    key,
    label,
    capsByAlias: new Map(),
    staticCap: cap,
    permits: new Permits(cap),
    inFlight: 0,
    queued: 0,
    domains: [],
    virtualTime: 0,
    flowSeq: 0,
    idle: new FlowHeap()
  }
  core.pools.set(label, pool)
  let byModel = core.poolsByProvider.get(key.provider)
  if (byModel === undefined) core.poolsByProvider.set(key.provider, byModel = new Map())
  byModel.set(key.model, pool)
  return pool
}

/** Registers one alias's cap in a synchronous step; returns its pool. */
export const registerSync = (core: Core, registration: ModelRegistration, now: number): Pool => {
  const key = { provider: registration.provider, model: registration.model }
  const label = providerModelLabel(key)
  const cap = Math.max(1, Math.floor(registration.maxParallelRequests) || 1)
  const pool = core.pools.get(label) ?? createPool(core, key, label, cap)
  pool.capsByAlias.set(registration.alias ?? label, cap)
  let staticCap = Infinity
  for (const value of pool.capsByAlias.values()) staticCap = Math.min(staticCap, value)
  const previousCap = pool.staticCap
  pool.staticCap = staticCap
  if (core.outbox.listening()) {
    core.outbox.emit(now, {
      kind: "request_resource_registered",
      resource: { provider: key.provider, model: key.model, domain: "chat" },
      reason: registration.alias ?? label,
      previousLimit: previousCap,
      limit: staticCap
    })
  }
  if (staticCap === previousCap) return pool
  core.work.resizePool(pool)
  for (const domain of pool.domains) onCapChanged(core.work, domain, previousCap, now)
  return pool
}
