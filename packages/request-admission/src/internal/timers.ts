/**
 * Running what synchronous steps left in `Work`: semaphore resizes (before any pump, so a decrease
 * never over-admits) and one timer fiber per domain that needs one — the cooldown end, which hands
 * the freed capacity to waiters exactly when the block ends, and the startup ramp's steps.
 */
import { Clock, Effect, type Fiber } from "effect"
import { endCooldownIfDue, nextRampStepAt, refreshRamp } from "./aimd.js"
import type { Core } from "./core.js"
import { admissionLimit } from "./limits.js"
import type { Domain, Pool } from "./state.js"

export const nowOf = (fiber: Fiber.Fiber<unknown, unknown>): number =>
  fiber.getRef(Clock.Clock).currentTimeMillisUnsafe()

const resizeDomain = (domain: Domain): Effect.Effect<void> =>
  Effect.suspend(() => {
    const target = admissionLimit(domain)
    // Re-check after resizing: a later change may have been applied before ours.
    return Effect.flatMap(domain.semaphore.resize(target), () =>
      admissionLimit(domain) === target ? Effect.void : resizeDomain(domain))
  })

const resizePool = (pool: Pool): Effect.Effect<void> =>
  Effect.suspend(() => {
    const target = pool.staticCap
    return Effect.flatMap(pool.semaphore.resize(target), () =>
      pool.staticCap === target ? Effect.void : resizePool(pool))
  })

/** Returns `settle`: runs what the last synchronous steps left behind, resizes first. */
export const makeSettle = (core: Core): Effect.Effect<void> => {
  const work = core.work

  const timerLoop = (domain: Domain, epoch: number): Effect.Effect<void> =>
    Effect.withFiber((fiber) => {
      // Superseded by a timer that wakes earlier (see `Work.ensureTimer`).
      if (domain.timerEpoch !== epoch) return Effect.void
      const now = nowOf(fiber)
      if (domain.rampActive) refreshRamp(work, domain, now)
      endCooldownIfDue(work, domain, now)
      let wakeAt = Infinity
      if (domain.cooling) wakeAt = domain.blockedUntil
      if (domain.rampActive) wakeAt = Math.min(wakeAt, nextRampStepAt(work, domain, now))
      const stop = wakeAt === Infinity || core.shutdown
      if (stop) domain.timerRunning = false
      else domain.timerWakeAt = wakeAt
      core.outbox.schedule(fiber)
      const after = Effect.andThen(settle, core.pump(domain.pool))
      return stop
        ? after
        : Effect.andThen(after, Effect.andThen(Effect.sleep(Math.max(1, Math.ceil(wakeAt - now))), timerLoop(domain, epoch)))
    })

  const settle: Effect.Effect<void> = Effect.suspend(() => {
    if (!work.pending) return Effect.void
    work.pending = false
    const effects: Array<Effect.Effect<unknown>> = []
    for (const pool of work.poolResizeQueue.splice(0)) effects.push(resizePool(pool))
    for (const domain of work.resizeQueue.splice(0)) effects.push(resizeDomain(domain))
    for (const { domain, epoch } of work.timerQueue.splice(0)) {
      effects.push(Effect.forkIn(Effect.interruptible(timerLoop(domain, epoch)), core.scope))
    }
    return Effect.forEach(effects, (effect) => effect, { discard: true })
  })

  return settle
}
