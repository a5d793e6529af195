/**
 * Work a synchronous step leaves for the effect that follows it: permit resizes, timers to start,
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
  /** Domains whose timer must be (re)started, with the timer's epoch. */
  readonly timerQueue: Array<{ readonly domain: Domain; readonly epoch: number }> = []
  /** Something above is queued: the hot path checks only this. */
  pending = false

  constructor(readonly config: ResolvedConfig, readonly outbox: Outbox) {}

  /** The domain's capacity changed in a way the scheduler should follow (limit, cooldown start or end). */
  publishCapacity(domain: Domain, now: number): void {
    if (this.outbox.capacityListening()) this.outbox.publishView(capacityView(this.config, domain, now))
  }

  /** The domain's permit count must follow its admission limit, without telling anybody (the caller publishes). */
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

  /**
   * Makes sure the domain's timer (cooldown end, ramp steps) wakes by `wakeAt`. A running timer that
   * wakes by then is kept; one that sleeps longer (a cooldown that a probe ended early, then a new
   * shorter one) is superseded by a new timer, and stops when it wakes.
   */
  ensureTimer(domain: Domain, wakeAt = 0): void {
    if (domain.timerRunning && domain.timerWakeAt <= wakeAt) return
    domain.timerRunning = true
    domain.timerWakeAt = wakeAt
    this.timerQueue.push({ domain, epoch: ++domain.timerEpoch })
    this.pending = true
  }
}
