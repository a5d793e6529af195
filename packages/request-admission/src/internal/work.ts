/**
 * Work a synchronous step leaves for the effect that follows it: semaphore resizes, timers to start,
 * and capacity views to publish. Steps only record it here (they cannot run effects); `settle` in
 * `timers.ts` runs it.
 */
import type { ResolvedConfig } from "../config.js"
import { capacityView } from "./limits.js"
import type { Outbox } from "./outbox.js"
import type { Domain, Pool } from "./state.js"

export class Work {
  readonly resizeQueue: Array<Domain> = []
  readonly poolResizeQueue: Array<Pool> = []
  readonly timerQueue: Array<Domain> = []
  /** Something above is queued: the hot path checks only this. */
  pending = false

  constructor(readonly config: ResolvedConfig, readonly outbox: Outbox) {}

  /** The domain's capacity changed in a way the scheduler should follow (limit, cooldown start or end). */
  publishCapacity(domain: Domain, now: number): void {
    if (this.outbox.capacityListening()) this.outbox.publishView(capacityView(this.config, domain, now))
  }

  /** The domain semaphore must follow `currentLimit`, without telling anybody (the caller publishes). */
  resize(domain: Domain): void {
    this.resizeQueue.push(domain)
    this.pending = true
  }

  limitChanged(domain: Domain, now: number): void {
    this.resize(domain)
    this.publishCapacity(domain, now)
  }

  resizePool(pool: Pool): void {
    this.poolResizeQueue.push(pool)
    this.pending = true
  }

  /** Starts the domain's timer (cooldown end, ramp steps) unless it runs already. */
  ensureTimer(domain: Domain): void {
    if (domain.timerRunning) return
    domain.timerRunning = true
    this.timerQueue.push(domain)
    this.pending = true
  }
}
