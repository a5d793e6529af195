/**
 * Running what synchronous steps left in `Work`: semaphore resizes (then the queue is served, since a larger
 * limit or a domain that opened may admit waiters), and one timer fiber per domain that needs one — the cooldown end, which hands freed
 * capacity to waiters exactly when the block ends, the startup ramp's steps, and the end of a quiet slow-start
 * first wave.
 */
import { Effect, type Scope } from "effect"
import { nowOf } from "../clock.js"
import type { Pump } from "../handoff/Pump.js"
import type { Lifecycle } from "../Lifecycle.js"
import type { Outbox } from "../outbox/Outbox.js"
import { endCooldownIfDue, firstWaveOpensAt, nextRampStepAt, openFirstWaveIfDue, refreshRamp } from "./aimd.js"
import type { Domain, Pool } from "./records.js"
import type { PendingResize, Work } from "./Work.js"

/** Runs what the last synchronous steps left behind; uninterruptible (a resize must not be left half-done). */
export type Settle = Effect.Effect<void>

export const makeSettle = (
  work: Work,
  outbox: Outbox,
  pump: Pump,
  lifecycle: Lifecycle,
  scope: Scope.Scope
): Settle => {
  /** Applies the resizes, then serves the queues they (or a domain that opened) may let through. */
  const resize = (resizes: ReadonlyArray<PendingResize>, opened: ReadonlyArray<Pool>): Effect.Effect<void> => {
    const pools: Array<Pool> = []
    for (const { pool } of resizes) if (!pools.includes(pool)) pools.push(pool)
    for (const pool of opened) if (!pools.includes(pool)) pools.push(pool)
    const serve = Effect.forEach(pools, (pool) => pump(pool), { discard: true })
    return resizes.length === 0
      ? serve
      : Effect.andThen(Effect.forEach(resizes, ({ permits }) => permits.follow, { discard: true }), serve)
  }

  const timerLoop = (domain: Domain, epoch: number): Effect.Effect<void> =>
    Effect.withFiber((fiber) => {
      // Superseded by a timer that wakes earlier (see `Work.ensureTimer`).
      if (domain.timerEpoch !== epoch) return Effect.void
      const now = nowOf(fiber)
      if (domain.rampActive) refreshRamp(work, domain, now)
      endCooldownIfDue(work, domain, now)
      openFirstWaveIfDue(work, domain, now)
      let wakeAt = firstWaveOpensAt(domain)
      if (domain.cooling) wakeAt = Math.min(wakeAt, domain.blockedUntil)
      if (domain.rampActive) wakeAt = Math.min(wakeAt, nextRampStepAt(work, domain, now))
      const stop = wakeAt === Infinity || lifecycle.shutdown
      if (stop) domain.timerRunning = false
      else domain.timerWakeAt = wakeAt
      outbox.schedule(fiber)
      // What the steps above changed (a cooldown end, a ramp step, an opened first wave) serves the queue.
      return stop
        ? settle
        : Effect.andThen(
          settle,
          Effect.andThen(Effect.sleep(Math.max(1, Math.ceil(wakeAt - now))), timerLoop(domain, epoch))
        )
    })

  const startTimers = (timers: ReadonlyArray<{ readonly domain: Domain; readonly epoch: number }>) =>
    Effect.forEach(
      timers,
      ({ domain, epoch }) => Effect.forkIn(Effect.interruptible(timerLoop(domain, epoch)), scope),
      { discard: true }
    )

  const settle: Settle = Effect.uninterruptible(Effect.suspend(() => {
    if (!work.pending) return Effect.void
    work.pending = false
    const resizes = work.resizes.splice(0)
    const opened = work.opened.splice(0)
    const timers = work.timers.splice(0)
    const applied = resizes.length === 0 && opened.length === 0 ? Effect.void : resize(resizes, opened)
    // Serving the queue may leave work of its own (an admission that fills a first wave starts its timer).
    return Effect.andThen(timers.length === 0 ? applied : Effect.andThen(applied, startTimers(timers)), settle)
  }))

  return settle
}
