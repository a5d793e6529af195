/**
 * A lease's life: admission (counters, lease, events) and release (counters, AIMD, events, then the
 * freed permits go back and the queue is looked at). Every release ends here, exactly once per lease.
 */
import type { RequestResourceKey } from "@sluice/scheduling-resources"
import { Effect, Exit, type Fiber } from "effect"
import type { RequestAdmissionItem, RequestLease } from "../RequestLease.js"
import { ReleaseOutcome, type ReleaseResult } from "../ReleaseOutcome.js"
import { onAdmitted, onFirstWaveFull, onRelease } from "./aimd.js"
import type { Core } from "./core.js"
import { type Domain, releaseBoth } from "./state.js"
import { nowOf } from "./timers.js"

const ACTIVE = 0
const RELEASED = 1

export const RELEASED_RESULT: ReleaseResult = { released: true, reason: "released" }

/** The concrete lease: only the controller that made it (`owner`) can release it, exactly once (`state`). */
export class LeaseImpl implements RequestLease {
  state: typeof ACTIVE | typeof RELEASED = ACTIVE
  constructor(
    readonly id: number,
    readonly resource: RequestResourceKey,
    readonly group: string,
    readonly admittedLimit: number,
    readonly waitedMs: number,
    readonly domain: Domain,
    readonly owner: object
  ) {}
}

/** Counts a lease in and builds it (the two permits are already taken). */
export const admit = (
  core: Core,
  domain: Domain,
  item: RequestAdmissionItem,
  group: string,
  now: number,
  waitedMs: number,
  queued: boolean
): LeaseImpl => {
  domain.inFlight++
  domain.pool.inFlight++
  core.activeLeases++
  const lease = new LeaseImpl(++core.leaseSeq, item.resource, group, domain.currentLimit, waitedMs, domain, core.owner)
  if (domain.halfOpen) onAdmitted(core.work, domain, lease.id, now)
  // `now` is the real clock here whenever the first wave runs (callers read it for it).
  if (domain.firstWave && domain.slowStart && domain.inFlight >= domain.window) onFirstWaveFull(core.work, domain, now)
  const outbox = core.outbox
  if (outbox.listening()) {
    if (queued) {
      outbox.emit(now, {
        kind: "request_wait_completed",
        resource: domain.resource,
        group,
        leaseId: lease.id,
        waitedMs
      })
    }
    outbox.emit(now, {
      kind: "request_lease_acquired",
      resource: domain.resource,
      group,
      leaseId: lease.id,
      limit: domain.currentLimit,
      inFlight: domain.inFlight
    })
  }
  return lease
}

const NOT_ACTIVE: Effect.Effect<ReleaseResult> = Effect.succeed({ released: false, reason: "duplicate" })

export const outcomeOfExit = (exit: Exit.Exit<unknown, unknown>): ReleaseOutcome =>
  Exit.isSuccess(exit)
    ? ReleaseOutcome.success
    : Exit.hasInterrupts(exit)
    ? ReleaseOutcome.localCancelled
    : ReleaseOutcome.unexpectedException

const RELEASED_EFFECT: Effect.Effect<ReleaseResult> = Effect.succeed(RELEASED_RESULT)

export const makeRelease = (core: Core, settleNow: () => Effect.Effect<void> | undefined) => {
  const outbox = core.outbox
  const work = core.work

  const releaseDiagnostic = (
    lease: RequestLease,
    reason: "duplicate" | "foreign_lease"
  ): Effect.Effect<ReleaseResult> =>
    Effect.withFiber((fiber) => {
      if (reason === "duplicate") core.duplicateReleases++
      else core.foreignReleases++
      if (outbox.listening()) {
        outbox.emit(nowOf(fiber), {
          kind: "request_release_diagnostic",
          resource: lease.resource,
          leaseId: lease.id,
          reason
        })
        outbox.schedule(fiber)
      }
      return Effect.succeed({ released: false, reason })
    })

  /**
   * Releases an active lease in one synchronous step of `fiber`: counters, AIMD, events, the two
   * permits back, resizes, and the freed capacity handed to the queue. Returns what is left to run
   * after the step (timer fibers to start, then the pump), or `undefined` — the common case.
   */
  const releaseNow = (
    fiber: Fiber.Fiber<unknown, unknown>,
    lease: LeaseImpl,
    outcome: ReleaseOutcome
  ): Effect.Effect<void> | undefined => {
    lease.state = RELEASED
    const domain = lease.domain
    const pool = domain.pool
    domain.inFlight--
    pool.inFlight--
    core.activeLeases--
    domain.lastOutcome = outcome.kind
    const listening = outbox.listening()
    // The clock is read only when something needs it: an uneventful success on an unblocked,
    // unramped domain (the common case) depends on no time at all.
    const now = outcome.kind === "success" && domain.blockedUntil === 0 && !domain.rampActive && !listening
      ? 0
      : nowOf(fiber)
    onRelease(work, domain, lease, outcome, now)
    if (outbox.listening()) {
      outbox.emit(now, {
        kind: "request_lease_released",
        resource: domain.resource,
        group: lease.group,
        leaseId: lease.id,
        outcome: outcome.kind,
        status: outcome.kind === "provider_failure" ? outcome.status : undefined,
        limit: domain.currentLimit,
        inFlight: domain.inFlight
      })
    }
    releaseBoth(domain)
    // Resizes before the pump (a decrease must not over-admit); the queue is looked at only after
    // the permits are back, so a waiter that enqueued while they were taken is served here.
    const timers = work.pending ? settleNow() : undefined
    if (timers !== undefined) {
      outbox.schedule(fiber)
      return Effect.andThen(timers, core.pump(pool))
    }
    core.pumpNow(pool, fiber)
    outbox.schedule(fiber)
    // A waiter the pump admitted may have filled a first wave, whose timer is still to start.
    return work.pending ? settleNow() : undefined
  }

  /** Releases an active lease (a released one is left alone: callers decide whether that is a duplicate). */
  const releaseActive = (lease: LeaseImpl, outcome: ReleaseOutcome): Effect.Effect<ReleaseResult> =>
    Effect.withFiber((fiber) => {
      if (lease.state !== ACTIVE) return NOT_ACTIVE
      const after = releaseNow(fiber, lease, outcome)
      return after === undefined ? RELEASED_EFFECT : Effect.as(after, RELEASED_RESULT)
    })

  const release = (lease: RequestLease, outcome: ReleaseOutcome): Effect.Effect<ReleaseResult> =>
    Effect.suspend(() => {
      if (!(lease instanceof LeaseImpl) || lease.owner !== core.owner) return releaseDiagnostic(lease, "foreign_lease")
      if (lease.state !== ACTIVE) return releaseDiagnostic(lease, "duplicate")
      return Effect.uninterruptible(releaseActive(lease, outcome))
    })

  /** Scope finalizers and cleanups: release unless the holder already did (not a duplicate). */
  const releaseIfActive = (lease: RequestLease, outcome: ReleaseOutcome): Effect.Effect<unknown> =>
    lease instanceof LeaseImpl && lease.owner === core.owner ? releaseActive(lease, outcome) : Effect.void

  /**
   * The finalizer of `withLease` (for `Effect.onExitPrimitive`): releases the lease with the outcome
   * of `exit` unless `use` released it itself; `undefined` when nothing is left to run.
   */
  const releaseOnExit = (
    fiber: Fiber.Fiber<unknown, unknown>,
    lease: LeaseImpl,
    exit: Exit.Exit<unknown, unknown>
  ): Effect.Effect<void> | undefined =>
    lease.state === ACTIVE ? releaseNow(fiber, lease, outcomeOfExit(exit)) : undefined

  return { release, releaseIfActive, releaseOnExit }
}
