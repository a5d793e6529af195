/**
 * A waiter's life: joining the queue and parking, then one of four ends — handed a lease by the pump, timed out,
 * interrupted, or failed by shutdown. No fiber ever parks on a semaphore: the waiting fiber's resume is kept in
 * its waiter (a one-shot `Deferred` without the allocations), and the outbox delivers the exit after the step that
 * decided it.
 */
import { Effect, Exit, type Fiber } from "effect"
import type { ResolvedConfig } from "../../config.js"
import { RequestAdmissionQueueTimeout, RequestAdmissionShutdown } from "../../errors.js"
import type { RequestAdmissionItem, RequestLease } from "../../RequestLease.js"
import { ReleaseOutcome } from "../../ReleaseOutcome.js"
import { nowOf } from "../clock.js"
import type { LeaseImpl } from "../leases/Leases.js"
import type { Release } from "../leases/Release.js"
import { refundCharge } from "../limits/budget.js"
import { isClosed } from "../limits/arithmetic.js"
import type { Domain, Pool } from "../limits/records.js"
import type { Pools } from "../limits/Pools.js"
import type { Outbox } from "../outbox/Outbox.js"
import { deliver, enqueue, GONE, GRANTED, removeWaiter, type Waiter } from "../queue/WaiterQueue.js"
import type { Pump } from "./Pump.js"

export type Restore = <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>

const validWeight = (weight: number | undefined): number =>
  weight !== undefined && weight > 0 && Number.isFinite(weight) ? weight : 1

export const groupOf = (item: RequestAdmissionItem, domain: Domain): string => item.group?.key ?? domain.label

/** True when a queued waiter of the pool could be ahead of a newcomer (its domain is open). */
export const contended = (pool: Pool, now: number): boolean => {
  if (pool.queue.queued === 0) return false
  for (const domain of pool.domains) {
    if (domain.queue.waiters > 0 && !isClosed(domain, now)) return true
  }
  return false
}

export interface Handoff {
  /** The item's queue-wait timeout: its own, else the controller default. */
  readonly timeoutOf: (item: RequestAdmissionItem) => number | null
  /** The immediate attempt failed: wait in the queue, or fail a zero timeout. A step of `fiber`. */
  readonly queueOrFail: (
    pool: Pool,
    domain: Domain,
    item: RequestAdmissionItem,
    restore: Restore,
    fiber: Fiber.Fiber<unknown, unknown>
  ) => Effect.Effect<RequestLease, RequestAdmissionQueueTimeout | RequestAdmissionShutdown>
  /** Shutdown: fails every queued waiter; returns how many. */
  readonly failAllWaiters: (now: number) => number
}

export const makeHandoff = (
  config: ResolvedConfig,
  pools: Pools,
  outbox: Outbox,
  pump: Pump,
  release: Release
): Handoff => {
  /** Takes a queued waiter out of the queue for good (it timed out, was interrupted, or shut down). */
  const dropWaiter = (waiter: Waiter): void => {
    removeWaiter(waiter)
    waiter.state = GONE
  }

  const waitCancelled = (now: number, waiter: Waiter, reason: "interrupted" | "shutdown") =>
    outbox.emit(now, {
      _tag: "request_wait_cancelled",
      resource: waiter.domain.resource,
      group: waiter.flow.group,
      waitedMs: Math.max(0, now - waiter.enqueuedAt),
      reason
    })

  const timeoutOf = (item: RequestAdmissionItem): number | null =>
    item.queueWaitTimeoutSeconds === undefined ? config.queueWaitTimeoutSeconds : item.queueWaitTimeoutSeconds

  /** Parks until the waiter's exit is delivered (at once if it already was, or if its lease is already granted). */
  const awaitWaiter = (waiter: Waiter): Effect.Effect<RequestLease, RequestAdmissionShutdown> =>
    Effect.callback<RequestLease, RequestAdmissionShutdown>((resume) => {
      // Granted by the pump this waiter ran itself: take the lease now (the outbox's delivery becomes a no-op).
      if (waiter.exit === undefined && waiter.state === GRANTED) waiter.exit = Exit.succeed(waiter.lease!)
      if (waiter.exit !== undefined) return resume(waiter.exit)
      waiter.resume = resume
    })

  const onWaitTimeout = (
    waiter: Waiter
  ): Effect.Effect<RequestLease, RequestAdmissionQueueTimeout | RequestAdmissionShutdown> =>
    Effect.withFiber<RequestLease, RequestAdmissionQueueTimeout | RequestAdmissionShutdown>((fiber) => {
      if (waiter.state === GRANTED) return Effect.succeed(waiter.lease!) // the hand-off won the race
      if (waiter.state === GONE) return awaitWaiter(waiter) // shut down: its exit is on the way
      const now = nowOf(fiber)
      const domain = waiter.domain
      dropWaiter(waiter)
      const waitedMs = Math.max(0, now - waiter.enqueuedAt)
      if (outbox.listening()) {
        outbox.emit(now, {
          _tag: "request_wait_timeout",
          resource: domain.resource,
          group: waiter.flow.group,
          waitedMs,
          waiters: domain.queue.waiters
        })
        outbox.schedule(fiber)
      }
      return Effect.fail(
        new RequestAdmissionQueueTimeout({
          resource: waiter.item.resource,
          waitedMs,
          waitersAhead: domain.queue.waiters
        })
      )
    })

  /** The wait ended without a lease (interrupted, or a defect): leave the queue, or give back a lease just handed. */
  const onWaitFailed = (waiter: Waiter): Effect.Effect<unknown> =>
    Effect.withFiber((fiber) => {
      // Handed a lease but interrupted before it could use it: the lease goes back at once, and its budget with it
      // (no call was made).
      if (waiter.state === GRANTED) {
        const charge = (waiter.lease as LeaseImpl).charge
        if (charge !== undefined) refundCharge(charge, nowOf(fiber))
        return release.releaseIfActive(waiter.lease!, ReleaseOutcome.localCancelled)
      }
      if (waiter.state === GONE) return Effect.void
      dropWaiter(waiter)
      if (outbox.listening()) {
        waitCancelled(nowOf(fiber), waiter, "interrupted")
        outbox.schedule(fiber)
      }
      return Effect.void
    })

  const queueOrFail = (
    pool: Pool,
    domain: Domain,
    item: RequestAdmissionItem,
    restore: Restore,
    fiber: Fiber.Fiber<unknown, unknown>
  ): Effect.Effect<RequestLease, RequestAdmissionQueueTimeout | RequestAdmissionShutdown> => {
    const now = nowOf(fiber)
    const timeout = timeoutOf(item)
    const group = groupOf(item, domain)
    if (timeout === 0) {
      // "Try once, never wait": the immediate attempt failed, so this is a zero-length queue timeout.
      if (outbox.listening()) {
        outbox.emit(now, { _tag: "request_acquire_denied", resource: domain.resource, group, reason: "queue_timeout" })
        outbox.schedule(fiber)
      }
      return Effect.fail(
        new RequestAdmissionQueueTimeout({ resource: item.resource, waitedMs: 0, waitersAhead: domain.queue.waiters })
      )
    }
    // Joining behind an eligible waiter of the same domain: its capacity is full, or whoever just freed some (or
    // opened the domain) serves the queue next.
    const behind = domain.queue.waiters > 0 && !isClosed(domain, now)
    const waiter = enqueue(domain, group, validWeight(item.group?.weight), item, now)
    if (outbox.listening()) {
      outbox.emit(now, {
        _tag: "request_wait_started",
        resource: domain.resource,
        group,
        waiters: domain.queue.waiters
      })
      outbox.schedule(fiber)
    }
    const wait = awaitWaiter(waiter)
    const timed = timeout === null
      ? wait
      : Effect.timeoutOrElse(wait, { duration: timeout * 1000, orElse: () => onWaitTimeout(waiter) })
    // Otherwise free capacity may serve the queue (this waiter included) right away; the pump runs uninterruptibly, the
    // wait does not. An interruption (while parked, or pending when the wait becomes interruptible) takes the
    // waiter out, or releases the lease it was just handed; nothing is built when the wait succeeds.
    return Effect.onExitPrimitive(
      behind ? restore(timed) : Effect.andThen(pump(pool), restore(timed)),
      (exit) => Exit.isSuccess(exit) ? undefined : onWaitFailed(waiter)
    )
  }

  const failAllWaiters = (now: number): number => {
    let failed = 0
    for (const pool of pools.byLabel.values()) {
      for (const domain of pool.domains) {
        let flow = domain.queue.heap.peek()
        while (flow !== undefined) {
          const waiter = flow.head!
          dropWaiter(waiter)
          failed++
          const exit = Exit.fail(new RequestAdmissionShutdown({ resource: waiter.item.resource }))
          outbox.push(() => deliver(waiter, exit))
          if (outbox.listening()) waitCancelled(now, waiter, "shutdown")
          flow = domain.queue.heap.peek()
        }
      }
    }
    return failed
  }

  return { timeoutOf, queueOrFail, failAllWaiters }
}
