/**
 * Running what synchronous steps left in `Work`: permit resizes (before any pump, so a decrease
 * never over-admits) and one timer fiber per domain that needs one — the cooldown end, which hands
 * the freed capacity to waiters exactly when the block ends, the startup ramp's steps, and the end of
 * a quiet slow-start first wave.
 */
import { Clock, Effect, type Fiber } from "effect"
import { endCooldownIfDue, firstWaveOpensAt, nextRampStepAt, openFirstWaveIfDue, refreshRamp } from "./aimd.js"
import type { Core } from "./core.js"
import { admissionLimit } from "./limits.js"
import type { Domain } from "./state.js"
import type { Work } from "./work.js"

export const nowOf = (fiber: Fiber.Fiber<unknown, unknown>): number =>
  fiber.getRef(Clock.Clock).currentTimeMillisUnsafe()

/** Applies the resizes the last steps left, pools first: the permit counts follow the limits at once. */
const applyResizes = (work: Work): void => {
  const pools = work.poolResizeQueue
  for (let i = 0; i < pools.length; i++) pools[i]!.permits.resize(pools[i]!.staticCap)
  pools.length = 0
  const domains = work.resizeQueue
  for (let i = 0; i < domains.length; i++) domains[i]!.permits.resize(admissionLimit(domains[i]!))
  domains.length = 0
}

/**
 * Returns `settle`, which runs what the last synchronous steps left behind (resizes first), and
 * `settleNow`, the same inside a synchronous step: it applies the resizes at once and returns the
 * timer forks still to run (`undefined` when there are none).
 */
export const makeSettle = (core: Core): {
  readonly settle: Effect.Effect<void>
  readonly settleNow: () => Effect.Effect<void> | undefined
} => {
  const work = core.work

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
      const stop = wakeAt === Infinity || core.shutdown
      if (stop) domain.timerRunning = false
      else domain.timerWakeAt = wakeAt
      core.outbox.schedule(fiber)
      const after = Effect.andThen(settle, core.pump(domain.pool))
      return stop
        ? after
        : Effect.andThen(
          after,
          Effect.andThen(Effect.sleep(Math.max(1, Math.ceil(wakeAt - now))), timerLoop(domain, epoch))
        )
    })

  const settleNow = (): Effect.Effect<void> | undefined => {
    if (!work.pending) return undefined
    work.pending = false
    applyResizes(work)
    if (work.timerQueue.length === 0) return undefined
    const timers = work.timerQueue.splice(0)
    return Effect.forEach(
      timers,
      ({ domain, epoch }) => Effect.forkIn(Effect.interruptible(timerLoop(domain, epoch)), core.scope),
      { discard: true }
    )
  }

  const settle: Effect.Effect<void> = Effect.suspend(() => settleNow() ?? Effect.void)

  return { settle, settleNow }
}
