/**
 * Releasing a lease, exactly once: one synchronous step closes it (counts out) and applies its outcome (AIMD,
 * events); its two permits then go back to the semaphores and the queue is served. The permits come back
 * whatever the outcome step does — if it throws, the release still returns them (and the defect surfaces).
 */
import { Effect, Exit } from "effect"
import type { RequestLease } from "../../RequestLease.js"
import { ReleaseOutcome, type ReleaseResult } from "../../ReleaseOutcome.js"
import { nowOf, stepClock } from "../clock.js"
import type { Pump } from "../handoff/Pump.js"
import type { Domain } from "../limits/records.js"
import type { Settle } from "../limits/Settle.js"
import type { Work } from "../limits/Work.js"
import type { Outbox } from "../outbox/Outbox.js"
import type { LeaseImpl, Leases } from "./Leases.js"

const RELEASED: ReleaseResult = { released: true, reason: "released" }
const RELEASED_EFFECT = Effect.succeed(RELEASED)
const NOT_ACTIVE = Effect.succeed<ReleaseResult>({ released: false, reason: "duplicate" })

/** The outcome a lease gets when the effect that held it ended with `exit` without releasing it. */
export const outcomeOfExit = (exit: Exit.Exit<unknown, unknown>): ReleaseOutcome =>
  Exit.isSuccess(exit)
    ? ReleaseOutcome.success
    : Exit.hasInterrupts(exit)
    ? ReleaseOutcome.localCancelled
    : ReleaseOutcome.unexpectedException

export interface Release {
  /** The public `release`: a diagnostic for a duplicate or foreign lease. */
  readonly release: (lease: RequestLease, outcome: ReleaseOutcome) => Effect.Effect<ReleaseResult>
  /** Releases the lease unless it was released before (scope finalizers, cleanups): never a diagnostic. */
  readonly releaseIfActive: (lease: RequestLease, outcome: ReleaseOutcome) => Effect.Effect<unknown>
  /** Releases an active lease of this controller (a released one is left alone). Run it uninterruptibly. */
  readonly releaseActive: (lease: LeaseImpl, outcome: ReleaseOutcome) => Effect.Effect<ReleaseResult>
}

export const makeRelease = (leases: Leases, work: Work, outbox: Outbox, settle: Settle, pump: Pump): Release => {
  /** After the permits are back: resizes the outcome decided, then the queue, then the outbox. */
  const afterGive = (domain: Domain): Effect.Effect<void> =>
    Effect.withFiber((fiber) => {
      outbox.schedule(fiber)
      const pool = domain.pool
      // One lease's permits came back: one waiter can be served (a larger limit is `settle`'s to serve).
      if (work.pending) return pool.queue.queued === 0 ? settle : Effect.andThen(settle, pump(pool, 1))
      return pool.queue.queued === 0 ? Effect.void : pump(pool, 1)
    })

  /** Returns a lease's two permits, then serves the queue. */
  const giveBack = (domain: Domain): Effect.Effect<void> =>
    domain.giveBack ??= Effect.andThen(domain.giveBoth, afterGive(domain))

  /** A lease whose permits are held by `withLease`'s hot path: they return when `use` ends. */
  const settleOnly = Effect.suspend(() => work.pending ? settle : Effect.void)

  const releaseActive = (lease: LeaseImpl, outcome: ReleaseOutcome): Effect.Effect<ReleaseResult> => {
    let closed = false
    return Effect.onExitPrimitive(
      Effect.withFiber((fiber) => {
        if (!lease.active) return NOT_ACTIVE
        leases.close(lease)
        closed = true
        leases.record(lease, outcome, stepClock(fiber))
        return RELEASED_EFFECT
      }),
      () => closed ? lease.returnsPermits ? giveBack(lease.domain) : settleOnly : undefined
    )
  }

  const diagnostic = (lease: RequestLease, reason: "duplicate" | "foreign_lease"): Effect.Effect<ReleaseResult> =>
    Effect.withFiber((fiber) => {
      leases.diagnostic(lease, reason, nowOf(fiber))
      outbox.schedule(fiber)
      return Effect.succeed({ released: false, reason })
    })

  const release = (lease: RequestLease, outcome: ReleaseOutcome): Effect.Effect<ReleaseResult> =>
    Effect.suspend(() => {
      if (!leases.owns(lease)) return diagnostic(lease, "foreign_lease")
      if (!lease.active) return diagnostic(lease, "duplicate")
      return Effect.uninterruptible(releaseActive(lease, outcome))
    })

  const releaseIfActive = (lease: RequestLease, outcome: ReleaseOutcome): Effect.Effect<unknown> =>
    leases.owns(lease) ? Effect.uninterruptible(releaseActive(lease, outcome)) : Effect.void

  return { release, releaseIfActive, releaseActive }
}
