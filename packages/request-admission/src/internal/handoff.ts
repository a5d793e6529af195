/**
 * The waiter queue in motion: parking a waiter, the pump that hands freed capacity to the best
 * eligible waiters, and a waiter's exits (timeout, interruption, shutdown).
 *
 * No fiber ever parks on a semaphore (`Semaphore` scans every parked fiber on each release, which is
 * quadratic with thousands of waiters). Waiting fibers park in our own weighted-fair queue (their
 * `resume` is kept in the waiter itself, like a one-shot `Deferred` without its allocations), and whoever frees capacity (a release, a limit increase, the end of a cooldown) pumps: it
 * takes the two permits for the best eligible waiter and hands the lease over through the outbox.
 */
import { Effect, Exit, type Fiber } from "effect"
import { QueueTimeout, Shutdown } from "../errors.js"
import type { RequestAdmissionItem, RequestLease } from "../RequestLease.js"
import { ReleaseOutcome } from "../ReleaseOutcome.js"
import type { Core } from "./core.js"
import { admit } from "./leases.js"
import { isClosed } from "./limits.js"
import {
  deliver,
  type Domain,
  enqueue,
  GONE,
  GRANTED,
  type Pool,
  removeWaiter,
  serveHead,
  takeBoth,
  type Waiter
} from "./state.js"
import { nowOf } from "./timers.js"

export type Restore = <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>

const validWeight = (weight: number | undefined): number =>
  weight !== undefined && weight > 0 && Number.isFinite(weight) ? weight : 1

export const groupOf = (item: RequestAdmissionItem, domain: Domain): string => item.group?.key ?? domain.label

export const makeHandoff = (
  core: Core,
  releaseIfActive: (lease: RequestLease, outcome: ReleaseOutcome) => Effect.Effect<unknown>
) => {
  const outbox = core.outbox
  const config = core.config

  /** Takes a queued waiter out of the queue for good (it timed out, was interrupted, or shut down). */
  const dropWaiter = (waiter: Waiter): void => {
    removeWaiter(waiter)
    waiter.state = GONE
    core.waiters--
  }

  const waitCancelled = (now: number, waiter: Waiter, reason: "interrupted" | "shutdown") =>
    outbox.emit(now, {
      kind: "request_wait_cancelled",
      resource: waiter.flow.domain.resource,
      group: waiter.flow.group,
      waitedMs: Math.max(0, now - waiter.enqueuedAt),
      reason
    })

  /**
   * Takes the two permits for the head waiter of `domain` and hands it a lease (the waiter's fiber
   * resumes from the outbox, after the step): 0 = served, 1 = the adaptive limit is full, 2 = the
   * static cap is full.
   */
  const serveOne = (domain: Domain, now: number): 0 | 1 | 2 => {
    const taken = takeBoth(domain)
    if (taken !== 0) return taken
    const waiter = serveHead(domain)!
    core.waiters--
    const lease = admit(core, domain, waiter.item, waiter.flow.group, now, Math.max(0, now - waiter.enqueuedAt), true)
    waiter.state = GRANTED
    waiter.lease = lease
    outbox.pushGrant(waiter)
    return 0
  }

  /** Serves the best eligible waiter of the pool; false when none can be served now. */
  const serveBest = (pool: Pool, now: number): boolean => {
    const domains = pool.domains
    if (domains.length === 1) {
      // One domain (the common case): no candidate list to build.
      const only = domains[0]!
      return only.heap.size > 0 && !isClosed(only, now) && serveOne(only, now) === 0
    }
    const candidates: Array<Domain> = []
    for (const domain of domains) {
      if (domain.heap.size > 0 && !isClosed(domain, now)) candidates.push(domain)
    }
    if (candidates.length === 0) return false
    candidates.sort((a, b) => {
      const x = a.heap.peek()!
      const y = b.heap.peek()!
      return x.tag - y.tag || x.seq - y.seq
    })
    for (let i = 0; i < candidates.length; i++) {
      const taken = serveOne(candidates[i]!, now)
      if (taken === 0) return true
      // The static cap is full: no other domain of the pool fits either.
      if (taken === 2) return false
    }
    return false
  }

  /**
   * Hands free capacity of a pool to its queued waiters, best first, until nothing more fits — in
   * the current synchronous step of `fiber` (permits are plain counts, so nothing can change meanwhile).
   */
  const pumpNow = (pool: Pool, fiber: Fiber.Fiber<unknown, unknown>): void => {
    if (pool.queued === 0 || core.shutdown) return
    const now = nowOf(fiber)
    let served = false
    while (pool.queued > 0 && serveBest(pool, now)) served = true
    if (served) outbox.schedule(fiber)
  }

  const pump = (pool: Pool): Effect.Effect<void> =>
    Effect.withFiber((fiber) => {
      pumpNow(pool, fiber)
      return Effect.void
    })
  core.pump = pump
  core.pumpNow = pumpNow

  /** True when a queued waiter of the pool could be ahead of a newcomer (its domain is open). */
  const contended = (pool: Pool, now: number): boolean => {
    if (pool.queued === 0) return false
    for (const domain of pool.domains) {
      if (domain.waiters > 0 && !isClosed(domain, now)) return true
    }
    return false
  }

  const timeoutOf = (item: RequestAdmissionItem): number | null =>
    item.queueWaitTimeoutSeconds === undefined ? config.queueWaitTimeoutSeconds : item.queueWaitTimeoutSeconds

  const onWaitTimeout = (waiter: Waiter): Effect.Effect<RequestLease, QueueTimeout | Shutdown> =>
    Effect.withFiber<RequestLease, QueueTimeout | Shutdown>((fiber) => {
      if (waiter.state === GRANTED) return Effect.succeed(waiter.lease!) // the hand-off won the race
      if (waiter.state === GONE) return awaitWaiter(waiter) // shut down: its exit is on the way
      const now = nowOf(fiber)
      const domain = waiter.flow.domain
      dropWaiter(waiter)
      const waitedMs = Math.max(0, now - waiter.enqueuedAt)
      if (outbox.listening()) {
        outbox.emit(now, {
          kind: "request_wait_timeout",
          resource: domain.resource,
          group: waiter.flow.group,
          waitedMs,
          waiters: domain.waiters
        })
        outbox.schedule(fiber)
      }
      return Effect.fail(new QueueTimeout({ resource: waiter.item.resource, waitedMs, waitersAhead: domain.waiters }))
    })

  const onWaitInterrupted = (waiter: Waiter): Effect.Effect<void> =>
    Effect.withFiber((fiber) => {
      if (waiter.state === GRANTED) return Effect.asVoid(releaseIfActive(waiter.lease!, ReleaseOutcome.localCancelled))
      if (waiter.state === GONE) return Effect.void
      dropWaiter(waiter)
      if (outbox.listening()) {
        waitCancelled(nowOf(fiber), waiter, "interrupted")
        outbox.schedule(fiber)
      }
      return Effect.void
    })

  /** Parks until the waiter's exit is delivered (at once if it already was). */
  const awaitWaiter = (waiter: Waiter): Effect.Effect<RequestLease, Shutdown> =>
    Effect.callback<RequestLease, Shutdown>((resume) => {
      if (waiter.exit !== undefined) return resume(waiter.exit)
      waiter.resume = resume
    })

  /** The immediate attempt failed: wait in the queue, or fail a zero timeout ("try once, never wait"). */
  const queueOrFail = (
    pool: Pool,
    domain: Domain,
    item: RequestAdmissionItem,
    restore: Restore,
    fiber: Fiber.Fiber<unknown, unknown>
  ): Effect.Effect<RequestLease, QueueTimeout | Shutdown> => {
    const now = nowOf(fiber)
    const timeout = timeoutOf(item)
    const group = groupOf(item, domain)
    if (timeout === 0) {
      // "Try once, never wait": the immediate attempt failed, so this is a zero-length queue timeout.
      if (outbox.listening()) {
        outbox.emit(now, { kind: "request_acquire_denied", resource: domain.resource, group, reason: "queue_timeout" })
        outbox.schedule(fiber)
      }
      return Effect.fail(new QueueTimeout({ resource: item.resource, waitedMs: 0, waitersAhead: domain.waiters }))
    }
    const waiter = enqueue(domain, group, validWeight(item.group?.weight), item, now)
    core.waiters++
    if (outbox.listening()) {
      outbox.emit(now, { kind: "request_wait_started", resource: domain.resource, group, waiters: domain.waiters })
      outbox.schedule(fiber)
    }
    // Free capacity may serve the queue (this waiter included) right away.
    pumpNow(pool, fiber)
    const wait = awaitWaiter(waiter)
    const timed = timeout === null
      ? wait
      : Effect.timeoutOrElse(wait, { duration: timeout * 1000, orElse: () => onWaitTimeout(waiter) })
    // An interruption (while parked, or already pending when the wait becomes interruptible) takes the
    // waiter out, or releases the lease it was just granted; no effect is built when the wait ends otherwise.
    return Effect.onExitPrimitive(
      restore(timed),
      (exit) => Exit.hasInterrupts(exit) ? onWaitInterrupted(waiter) : undefined
    )
  }

  /** Shutdown: fails every queued waiter with `Shutdown`; returns how many. */
  const failAllWaiters = (now: number): number => {
    let failed = 0
    for (const pool of core.pools.values()) {
      for (const domain of pool.domains) {
        let flow = domain.heap.peek()
        while (flow !== undefined) {
          const waiter = flow.head!
          dropWaiter(waiter)
          failed++
          const exit = Exit.fail(new Shutdown({ resource: waiter.item.resource }))
          outbox.push(() => deliver(waiter, exit))
          if (outbox.listening()) waitCancelled(now, waiter, "shutdown")
          flow = domain.heap.peek()
        }
      }
    }
    return failed
  }

  return { pump, pumpNow, contended, timeoutOf, queueOrFail, failAllWaiters }
}
