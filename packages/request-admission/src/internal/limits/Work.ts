/**
 * What a synchronous step leaves for the effects that follow it: semaphore resizes, timers to start, and capacity
 * views to publish. Steps only record it here (they cannot run effects); `Settle.ts` runs it.
 */
import type { ResolvedConfig } from "../../config.js"
import type { Outbox } from "../outbox/Outbox.js"
import { capacityView } from "./arithmetic.js"
import type { Permits } from "./Permits.js"
import type { Domain, Pool } from "./records.js"

export interface PendingResize {
  readonly permits: Permits
  /** Whose waiters may fit once the resize is applied. */
  readonly pool: Pool
}

export class Work {
  readonly resizes: Array<PendingResize> = []
  /** Pools whose queue may be served now that a domain opened (a cooldown ended, a half-open probe). */
  readonly opened: Array<Pool> = []
  /** Domains whose timer must be (re)started, with the timer's epoch. */
  readonly timers: Array<{ readonly domain: Domain; readonly epoch: number }> = []
  /** Something above is queued: the hot path checks only this. */
  pending = false

  constructor(readonly config: ResolvedConfig, readonly outbox: Outbox) {}

  /** The domain's capacity changed in a way the scheduler should follow (limit, cooldown start or end). */
  publishCapacity(domain: Domain, now: number): void {
    if (this.outbox.capacityListening()) this.outbox.publishView(capacityView(this.config, domain, now))
  }

  /** The domain's semaphore must follow its admission limit, without telling anybody (the caller publishes). */
  resize(domain: Domain): void {
    domain.permits.changed()
    this.resizes.push({ permits: domain.permits, pool: domain.pool })
    this.pending = true
  }

  limitChanged(domain: Domain, now: number): void {
    this.resize(domain)
    this.publishCapacity(domain, now)
  }

  /** The domain opened without a resize (a cooldown ended, or it turned half-open): its waiters may fit now. */
  reopened(domain: Domain): void {
    this.opened.push(domain.pool)
    this.pending = true
  }

  /** The pool's RPM / TPM budget grew (or was dropped), or a call's usage gave tokens back: serve its queue. */
  budgetChanged(pool: Pool): void {
    this.opened.push(pool)
    this.pending = true
  }

  /** The pool's semaphore must follow its static cap. */
  resizePool(pool: Pool): void {
    pool.permits.changed()
    this.resizes.push({ permits: pool.permits, pool })
    this.pending = true
  }

  /**
   * Makes sure the domain's timer (cooldown end, ramp steps, first-wave end) wakes by `wakeAt`. A running timer
   * that wakes by then is kept; one that sleeps longer (a cooldown that a probe ended early, then a new shorter
   * one) is superseded by a new timer, and stops when it wakes.
   */
  ensureTimer(domain: Domain, wakeAt: number): void {
    if (domain.timerRunning && domain.timerWakeAt <= wakeAt) return
    domain.timerRunning = true
    domain.timerWakeAt = wakeAt
    this.timers.push({ domain, epoch: ++domain.timerEpoch })
    this.pending = true
  }
}
