/**
 * The registry of limits: provider/model pools with their static caps (min over aliases), and their domains,
 * created on first use. A cap change resizes the pool's semaphore and clamps (or lifts the ceiling of) the
 * domains' adaptive limits.
 */
import {
  type ProviderModelKey,
  providerModelLabel,
  type RequestResourceKey,
  requestResourceLabel
} from "@sluice/scheduling-resources"
import type { ModelRegistration } from "../../config.js"
import type { Outbox } from "../outbox/Outbox.js"
import { onCapChanged, refreshRamp } from "./aimd.js"
import { startingLimits } from "./arithmetic.js"
import type { Budgets } from "./budget.js"
import { Domain, Pool } from "./records.js"
import type { Work } from "./Work.js"

export class Pools {
  readonly byLabel = new Map<string, Pool>()
  /** Pools by provider, then model: no label string is built on the hot path. */
  private readonly byProvider = new Map<string, Map<string, Pool>>()

  constructor(private readonly work: Work, private readonly outbox: Outbox, private readonly budgets: Budgets) {}

  poolOf(key: { readonly provider: string; readonly model: string }): Pool | undefined {
    return this.byProvider.get(key.provider)?.get(key.model)
  }

  /** The domain of a resource if it has been used. */
  findDomain(pool: Pool, resource: RequestResourceKey): Domain | undefined {
    const domains = pool.domains
    for (let i = 0; i < domains.length; i++) {
      if (domains[i]!.resource.domain === resource.domain) return domains[i]
    }
    return undefined
  }

  /** The domain of an item, created on first use; its ramp is brought up to date. */
  touchDomain(pool: Pool, resource: RequestResourceKey, now: number): Domain {
    const domain = this.findDomain(pool, resource) ?? this.createDomain(pool, resource, now)
    if (domain.rampActive) refreshRamp(this.work, domain, now)
    return domain
  }

  private createDomain(pool: Pool, resource: RequestResourceKey, now: number): Domain {
    const label = requestResourceLabel(resource)
    const start = startingLimits(this.work.config, label, pool.staticCap)
    const domain = new Domain(
      { provider: resource.provider, model: resource.model, domain: resource.domain },
      label,
      pool,
      { limit: start.limit, ramp: start.ramp, slowStart: start.slowStart, window: start.window, now }
    )
    pool.domains.push(domain)
    if (start.ramp) this.work.ensureTimer(domain, now)
    return domain
  }

  private createPool(key: ProviderModelKey, label: string, cap: number): Pool {
    const pool = new Pool(key, label, cap)
    this.byLabel.set(label, pool)
    let byModel = this.byProvider.get(key.provider)
    if (byModel === undefined) this.byProvider.set(key.provider, byModel = new Map())
    byModel.set(key.model, pool)
    return pool
  }

  /** Registers one alias's cap in a synchronous step; returns its pool. */
  register(registration: ModelRegistration, now: number): Pool {
    const key = { provider: registration.provider, model: registration.model }
    const label = providerModelLabel(key)
    const cap = Math.max(1, Math.floor(registration.maxParallelRequests) || 1)
    const pool = this.byLabel.get(label) ?? this.createPool(key, label, cap)
    const alias = registration.alias ?? label
    pool.capsByAlias.set(alias, cap)
    let staticCap = Infinity
    for (const value of pool.capsByAlias.values()) staticCap = Math.min(staticCap, value)
    const previousCap = pool.staticCap
    pool.staticCap = staticCap
    // A budget raised or dropped may let waiters through: the pool's queue is served after this step.
    if (this.budgets.register(pool, alias, registration, now)) this.work.budgetChanged(pool)
    if (this.outbox.listening()) {
      this.outbox.emit(now, { _tag: "request_resource_registered", providerModel: key, alias, previousCap, staticCap })
    }
    if (staticCap === previousCap) return pool
    this.work.resizePool(pool)
    for (const domain of pool.domains) onCapChanged(this.work, domain, previousCap, now)
    return pool
  }
}
