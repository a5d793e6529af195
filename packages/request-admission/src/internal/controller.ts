/**
 * The request-admission controller.
 *
 * Capacity lives in Effect semaphores: one per provider/model sized to the static cap, one per
 * provider/model/domain sized to the adaptive limit. A lease holds one permit of each, taken with
 * `takeIfAvailable` — no fiber ever parks on a semaphore, because `Semaphore` scans every parked fiber
 * on each release (quadratic with thousands of waiters). Waiting fibers park on a `Deferred` in our
 * own weighted-fair queue instead, and whoever frees capacity (a release, a limit increase, the end of a
 * cooldown) pumps the queue: it takes the permits for the best eligible waiter and hands them over.
 *
 * Bookkeeping (counters, AIMD, queue) changes only inside single synchronous steps. Two things are
 * never done inside such a step, because both run other fibers inline (re-entrancy, and stack depth
 * with long hand-off chains): completing a waiter's `Deferred` and publishing an event. Both go to an
 * outbox that is flushed, in order, from a task on the scheduler's dispatcher.
 */
import {
  providerModelLabel,
  type ProviderModelKey,
  type RequestResourceKey,
  requestResourceLabel
} from "@sluice/scheduling-resources"
import {
  Clock,
  Deferred,
  Effect,
  Exit,
  type Fiber,
  PubSub,
  Scope,
  Semaphore,
  Stream
} from "effect"
import type { ResolvedConfig } from "../config.js"
import { Cooldown, NoCapacity, QueueTimeout, Shutdown, UnknownResource } from "../errors.js"
import type { ModelRegistration } from "../config.js"
import type { RequestEvent, RequestEventInput } from "../RequestEvent.js"
import type { RequestAdmissionItem, RequestLease } from "../RequestLease.js"
import type {
  ProviderModelPressure,
  RequestAdmissionInspection,
  RequestCapacityView,
  RequestPressure
} from "../RequestPressure.js"
import { isProviderOutcome, ReleaseOutcome, type ReleaseResult } from "../ReleaseOutcome.js"
import { FlowHeap } from "./FlowHeap.js"
import {
  type Domain,
  enqueue,
  flowCount,
  GONE,
  GRANTED,
  type Pool,
  removeWaiter,
  serveHead,
  type Waiter
} from "./state.js"

const ACTIVE = 0
const RELEASED = 1

const RELEASED_RESULT: ReleaseResult = { released: true, reason: "released" }
const RELEASED_EFFECT = Effect.succeed(RELEASED_RESULT)
const TAKEN = Effect.succeed(0 as const)
const LIMIT_FULL = Effect.succeed(1 as const)
const STATIC_CAP_FULL = 2 as const

/** The concrete lease; only the controller that made it can release it. */
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

const nowOf = (fiber: Fiber.Fiber<unknown, unknown>): number => fiber.getRef(Clock.Clock).currentTimeMillisUnsafe()

const poolLabel = (resource: RequestResourceKey | ProviderModelKey): string =>
  providerModelLabel({ provider: resource.provider, model: resource.model })

const validWeight = (weight: number | undefined): number =>
  weight !== undefined && weight > 0 && Number.isFinite(weight) ? weight : 1

export const makeController = Effect.fnUntraced(function*(config: ResolvedConfig) {
  const scope = yield* Effect.scope
  const eventHub = yield* PubSub.bounded<RequestEvent>(config.eventBufferSize)
  const capacityHub = yield* PubSub.bounded<RequestCapacityView>(config.eventBufferSize)
  const owner = {}
  const pools = new Map<string, Pool>()

  let shutdown = false
  let activeLeases = 0
  let waiters = 0
  let leaseSeq = 0
  let duplicateReleases = 0
  let foreignReleases = 0
  let droppedEvents = 0
  let eventSequence = 0
  let eventSubscribers = 0
  let capacitySubscribers = 0

  // ---------------------------------------------------------------- outbox

  const outbox: Array<() => void> = []
  let flushScheduled = false
  const flush = () => {
    try {
      // Entries appended while flushing (by fibers resumed inline here) run in this same loop.
      for (let i = 0; i < outbox.length; i++) outbox[i]!()
    } finally {
      outbox.length = 0
      flushScheduled = false
    }
  }
  const scheduleFlush = (fiber: Fiber.Fiber<unknown, unknown>) => {
    if (!flushScheduled && outbox.length > 0) {
      flushScheduled = true
      fiber.currentDispatcher.scheduleTask(flush, 0)
    }
  }

  const emit = (now: number, input: RequestEventInput) => {
    const event: RequestEvent = { ...input, sequence: ++eventSequence, atMillis: now }
    outbox.push(() => {
      if (!PubSub.publishUnsafe(eventHub, event)) droppedEvents++
    })
  }
  /** Events are built only when somebody listens: the check is the whole cost otherwise. */
  const listening = () => eventSubscribers > 0

  // ---------------------------------------------------------------- limits

  const effectiveMax = (domain: Domain): number => {
    const cap = domain.pool.staticCap
    const clamp = config.maxLimitClamps.get(domain.label)
    return Math.max(1, clamp === undefined ? cap : Math.min(cap, clamp))
  }
  const initialLimitOf = (label: string, max: number): number =>
    Math.max(1, Math.min(config.initialLimits.get(label) ?? max, max))

  /** The startup-ramp limit at `now`, without mutating anything (snapshots use it too). */
  const rampValue = (domain: Domain, now: number): number | undefined => {
    if (!domain.rampActive) return undefined
    const target = initialLimitOf(domain.label, effectiveMax(domain))
    if (target <= 1) return target
    const elapsed = Math.max(0, now - domain.rampStartedAt)
    if (elapsed >= config.startupRampMs) return target
    return Math.min(target, 1 + Math.floor(((target - 1) * elapsed) / config.startupRampMs))
  }

  const capacityView = (domain: Domain, now: number): RequestCapacityView => ({
    resource: domain.resource,
    limit: Math.min(domain.currentLimit, effectiveMax(domain), domain.pool.staticCap),
    staticCap: domain.pool.staticCap,
    open: !(domain.blockedUntil > now),
    blockedUntilMillis: domain.blockedUntil > now ? domain.blockedUntil : null,
    inFlight: domain.inFlight,
    waiters: domain.waiters
  })

  // Work a synchronous step leaves for the effect that follows it.
  const resizeQueue: Array<Domain> = []
  const poolResizeQueue: Array<Pool> = []
  const timerQueue: Array<Domain> = []
  let pending = false

  const publishCapacity = (domain: Domain, now: number) => {
    if (capacitySubscribers === 0) return
    const view = capacityView(domain, now)
    outbox.push(() => {
      PubSub.publishUnsafe(capacityHub, view)
    })
  }

  const limitChanged = (domain: Domain, now: number) => {
    resizeQueue.push(domain)
    pending = true
    publishCapacity(domain, now)
  }

  const ensureTimer = (domain: Domain) => {
    if (domain.timerRunning) return
    domain.timerRunning = true
    timerQueue.push(domain)
    pending = true
  }

  /** Applies the startup ramp; returns true if the limit moved. */
  const refreshRamp = (domain: Domain, now: number): boolean => {
    const value = rampValue(domain, now)
    if (value === undefined) return false
    const target = initialLimitOf(domain.label, effectiveMax(domain))
    if (value >= target) domain.rampActive = false
    if (value === domain.currentLimit) return false
    const previous = domain.currentLimit
    domain.currentLimit = value
    if (listening()) {
      emit(now, {
        kind: value > previous ? "request_limit_increased" : "request_limit_decreased",
        resource: domain.resource,
        previousLimit: previous,
        limit: value,
        reason: "ramp"
      })
    }
    limitChanged(domain, now)
    return true
  }

  const createDomain = (pool: Pool, resource: RequestResourceKey, now: number): Domain => {
    const label = requestResourceLabel(resource)
    const cap = pool.staticCap
    const clamp = config.maxLimitClamps.get(label)
    const max = Math.max(1, clamp === undefined ? cap : Math.min(cap, clamp))
    const initial = initialLimitOf(label, max)
    const ramp = config.startupRampMs > 0 && initial > 1
    const limit = ramp ? 1 : initial
    const semaphore = Semaphore.makeUnsafe(limit)
    const domain: Domain = {
      resource: { provider: resource.provider, model: resource.model, domain: resource.domain },
      label,
      pool,
      semaphore,
      takeBoth: Effect.flatMap(semaphore.takeIfAvailable(1), (ok) =>
        ok
          ? Effect.flatMap(pool.semaphore.takeIfAvailable(1), (ok) => ok ? TAKEN : Effect.as(semaphore.release(1), STATIC_CAP_FULL))
          : LIMIT_FULL),
      releaseBoth: Effect.andThen(semaphore.release(1), pool.semaphore.release(1)),
      // The queue is looked at *after* the permits are back: a waiter that enqueued while they were
      // still taken (its own pump found nothing) is served here, so no wake-up is ever lost.
      releasedResult: Effect.andThen(
        semaphore.release(1),
        Effect.flatMap(pool.semaphore.release(1), () =>
          pool.queued > 0 ? Effect.as(pump(pool), RELEASED_RESULT) : RELEASED_EFFECT)
      ),
      currentLimit: limit,
      inFlight: 0,
      waiters: 0,
      blockedUntil: 0,
      cooling: false,
      successStreak: 0,
      rateLimitCeiling: 0,
      consecutiveRateLimits: 0,
      lastOutcome: null,
      recovering: false,
      softCeilingPending: false,
      rampActive: ramp,
      rampStartedAt: now,
      timerRunning: false,
      heap: new FlowHeap(),
      flows: new Map()
    }
    pool.domains.push(domain)
    if (ramp) ensureTimer(domain)
    return domain
  }

  const findDomain = (pool: Pool, resource: RequestResourceKey): Domain | undefined => {
    const domains = pool.domains
    for (let i = 0; i < domains.length; i++) {
      if (domains[i]!.resource.domain === resource.domain) return domains[i]
    }
    return undefined
  }

  /** The domain of an item, created on first use; its ramp is brought up to date. */
  const touchDomain = (pool: Pool, resource: RequestResourceKey, now: number): Domain => {
    const domain = findDomain(pool, resource) ?? createDomain(pool, resource, now)
    if (domain.rampActive) refreshRamp(domain, now)
    return domain
  }

  // ---------------------------------------------------------------- settle: resizes, timers, pumps

  const resizeDomain = (domain: Domain): Effect.Effect<void> =>
    Effect.suspend(() => {
      const target = domain.currentLimit
      // Re-check after resizing: a later change may have been applied before ours.
      return Effect.flatMap(domain.semaphore.resize(target), () =>
        domain.currentLimit === target ? Effect.void : resizeDomain(domain))
    })

  const resizePool = (pool: Pool): Effect.Effect<void> =>
    Effect.suspend(() => {
      const target = pool.staticCap
      return Effect.flatMap(pool.semaphore.resize(target), () =>
        pool.staticCap === target ? Effect.void : resizePool(pool))
    })

  const timerLoop = (domain: Domain): Effect.Effect<void> =>
    Effect.withFiber((fiber) => {
      const now = nowOf(fiber)
      if (domain.rampActive) refreshRamp(domain, now)
      if (domain.cooling && domain.blockedUntil <= now) {
        domain.cooling = false
        // 0 = "not blocked": lets acquires take the hot path again without reading the clock.
        domain.blockedUntil = 0
        if (listening()) {
          emit(now, { kind: "request_cooldown_ended", resource: domain.resource, limit: domain.currentLimit })
        }
        publishCapacity(domain, now)
      }
      let wakeAt = Infinity
      if (domain.cooling) wakeAt = domain.blockedUntil
      if (domain.rampActive) {
        const target = initialLimitOf(domain.label, effectiveMax(domain))
        const stepAt = domain.rampStartedAt +
          Math.ceil((domain.currentLimit * config.startupRampMs) / Math.max(1, target - 1))
        wakeAt = Math.min(wakeAt, Math.max(stepAt, now + 1))
      }
      if (wakeAt === Infinity || shutdown) domain.timerRunning = false
      scheduleFlush(fiber)
      const after = Effect.andThen(settle, pump(domain.pool))
      return wakeAt === Infinity || shutdown
        ? after
        : Effect.andThen(after, Effect.andThen(Effect.sleep(Math.max(1, Math.ceil(wakeAt - now))), timerLoop(domain)))
    })

  /** Runs what the last synchronous steps left behind: resizes first, so that pumps can use them. */
  const settle: Effect.Effect<void> = Effect.suspend(() => {
    if (!pending) return Effect.void
    pending = false
    const effects: Array<Effect.Effect<unknown>> = []
    for (const pool of poolResizeQueue.splice(0)) effects.push(resizePool(pool))
    for (const domain of resizeQueue.splice(0)) effects.push(resizeDomain(domain))
    for (const domain of timerQueue.splice(0)) {
      effects.push(Effect.forkIn(Effect.interruptible(timerLoop(domain)), scope))
    }
    return Effect.forEach(effects, (effect) => effect, { discard: true })
  })

  // ---------------------------------------------------------------- admission

  const admit = (
    domain: Domain,
    item: RequestAdmissionItem,
    group: string,
    now: number,
    waitedMs: number,
    queued: boolean
  ) => {
    domain.inFlight++
    domain.pool.inFlight++
    activeLeases++
    const lease = new LeaseImpl(
      ++leaseSeq,
      item.resource,
      group,
      domain.currentLimit,
      waitedMs,
      domain,
      owner
    )
    if (listening()) {
      if (queued) {
        emit(now, {
          kind: "request_wait_completed",
          resource: domain.resource,
          group,
          leaseId: lease.id,
          waitedMs
        })
      }
      emit(now, {
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

  /**
   * Hands capacity to queued waiters of a pool, best first, until nothing more fits. Takes the two
   * permits first and then commits to whichever waiter is best at that moment; if the queue changed
   * meanwhile (timeout, interruption), it gives them back and looks again.
   */
  const pump = (pool: Pool): Effect.Effect<void> =>
    Effect.withFiber((fiber) => {
      if (pool.queued === 0 || shutdown) return Effect.void
      const now = nowOf(fiber)
      const domains = pool.domains
      if (domains.length === 1) {
        // One domain (the common case): no candidate list to build.
        const only = domains[0]!
        return only.heap.size > 0 && only.blockedUntil <= now ? tryCandidate(pool, domains, 0) : Effect.void
      }
      const candidates: Array<Domain> = []
      for (const domain of domains) {
        if (domain.heap.size > 0 && domain.blockedUntil <= now) candidates.push(domain)
      }
      if (candidates.length === 0) return Effect.void
      candidates.sort((a, b) => {
        const x = a.heap.peek()!
        const y = b.heap.peek()!
        return x.tag - y.tag || x.seq - y.seq
      })
      return tryCandidate(pool, candidates, 0)
    })

  const tryCandidate = (pool: Pool, candidates: Array<Domain>, index: number): Effect.Effect<void> => {
    if (index >= candidates.length) return Effect.void
    const domain = candidates[index]!
    return Effect.flatMap(domain.takeBoth, (taken) =>
      taken === 1
        ? tryCandidate(pool, candidates, index + 1)
        : taken === 2
        ? Effect.void
        : Effect.withFiber((fiber) => {
              const now = nowOf(fiber)
              if (!shutdown && domain.heap.size > 0 && domain.blockedUntil <= now) {
                const waiter = serveHead(domain)!
                waiters--
                const lease = admit(domain, waiter.item, waiter.flow.group, now, Math.max(0, now - waiter.enqueuedAt), true)
                waiter.state = GRANTED
                waiter.lease = lease
                outbox.push(() => {
                  Deferred.doneUnsafe(waiter.deferred, Exit.succeed(lease))
                })
                scheduleFlush(fiber)
                return pump(pool)
              }
              return Effect.andThen(domain.releaseBoth, pump(pool))
            }))
  }

  /** True when a queued waiter of the pool could be ahead of a newcomer (its domain is open). */
  const contended = (pool: Pool, now: number): boolean => {
    if (pool.queued === 0) return false
    for (const domain of pool.domains) {
      if (domain.waiters > 0 && domain.blockedUntil <= now) return true
    }
    return false
  }

  const timeoutOf = (item: RequestAdmissionItem): number | null =>
    item.queueWaitTimeoutSeconds === undefined ? config.queueWaitTimeoutSeconds : item.queueWaitTimeoutSeconds

  const groupOf = (item: RequestAdmissionItem, domain: Domain): string => item.group?.key ?? domain.label

  type Restore = <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>

  const onWaitTimeout = (waiter: Waiter): Effect.Effect<RequestLease, QueueTimeout | Shutdown> =>
    Effect.withFiber<RequestLease, QueueTimeout | Shutdown>((fiber) => {
      if (waiter.state === GRANTED) return Effect.succeed(waiter.lease!) // the hand-off won the race
      if (waiter.state === GONE) return Deferred.await(waiter.deferred)
      const now = nowOf(fiber)
      const domain = waiter.flow.domain
      removeWaiter(waiter)
      waiter.state = GONE
      waiters--
      const waitedMs = Math.max(0, now - waiter.enqueuedAt)
      if (listening()) {
        emit(now, {
          kind: "request_wait_timeout",
          resource: domain.resource,
          group: waiter.flow.group,
          waitedMs,
          waiters: domain.waiters
        })
        scheduleFlush(fiber)
      }
      return Effect.fail(new QueueTimeout({ resource: waiter.item.resource, waitedMs, waitersAhead: domain.waiters }))
    })

  const onWaitInterrupted = (waiter: Waiter): Effect.Effect<void> =>
    Effect.withFiber((fiber) => {
      if (waiter.state === GRANTED) return releaseIfActive(waiter.lease!, ReleaseOutcome.localCancelled)
      if (waiter.state === GONE) return Effect.void
      const now = nowOf(fiber)
      const domain = waiter.flow.domain
      removeWaiter(waiter)
      waiter.state = GONE
      waiters--
      if (listening()) {
        emit(now, {
          kind: "request_wait_cancelled",
          resource: domain.resource,
          group: waiter.flow.group,
          waitedMs: Math.max(0, now - waiter.enqueuedAt),
          reason: "interrupted"
        })
        scheduleFlush(fiber)
      }
      return Effect.void
    })

  const slowPath = (
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
      if (listening()) {
        emit(now, { kind: "request_acquire_denied", resource: domain.resource, group, reason: "queue_timeout" })
        scheduleFlush(fiber)
      }
      return Effect.fail(new QueueTimeout({ resource: item.resource, waitedMs: 0, waitersAhead: domain.waiters }))
    }
    const waiter = enqueue(domain, group, validWeight(item.group?.weight), item, Deferred.makeUnsafe(), now)
    waiters++
    if (listening()) {
      emit(now, { kind: "request_wait_started", resource: domain.resource, group, waiters: domain.waiters })
      scheduleFlush(fiber)
    }
    const wait = Deferred.await(waiter.deferred)
    const timed = timeout === null
      ? wait
      : Effect.timeoutOrElse(wait, { duration: timeout * 1000, orElse: () => onWaitTimeout(waiter) })
    return Effect.andThen(
      pump(pool),
      Effect.onInterrupt(restore(timed), () => onWaitInterrupted(waiter))
    )
  }

  /** Pools by provider, then model: no label string is built on the hot path. */
  const poolsByProvider = new Map<string, Map<string, Pool>>()
  const poolOf = (key: { readonly provider: string; readonly model: string }): Pool | undefined =>
    poolsByProvider.get(key.provider)?.get(key.model)

  const unknownOrShutdown = (resource: RequestResourceKey): Pool | Shutdown | UnknownResource => {
    if (shutdown) return new Shutdown({ resource })
    const pool = poolOf(resource)
    return pool === undefined ? new UnknownResource({ resource }) : pool
  }

  /** After an immediate attempt failed (or could not be made): queue, or fail a zero timeout. */
  const queueOrFail = (pool: Pool, domain: Domain, item: RequestAdmissionItem, restore: Restore) =>
    Effect.withFiber<RequestLease, QueueTimeout | Shutdown>((fiber) => slowPath(pool, domain, item, restore, fiber))

  /**
   * Commits a lease after both permits were taken, unless shutdown or a cooldown began meanwhile.
   * Runs in the continuation of the acquiring fiber, so it reads that fiber's clock directly.
   */
  const commitTaken = (
    fiber: Fiber.Fiber<unknown, unknown>,
    pool: Pool,
    domain: Domain,
    item: RequestAdmissionItem,
    restore: Restore
  ): Effect.Effect<RequestLease, QueueTimeout | Shutdown> => {
    if (shutdown) return Effect.andThen(domain.releaseBoth, Effect.fail(new Shutdown({ resource: item.resource })))
    // A cooldown may have begun while the permits were being taken; the clock is read only if one exists.
    const now = domain.blockedUntil === 0 && !listening() ? 0 : nowOf(fiber)
    if (domain.blockedUntil > now) return Effect.andThen(domain.releaseBoth, queueOrFail(pool, domain, item, restore))
    const lease = admit(domain, item, groupOf(item, domain), now, 0, false)
    scheduleFlush(fiber)
    return Effect.succeed(lease)
  }

  /** Acquire without the scope: the caller makes sure the lease is released (uninterruptible region). */
  const acquireLease = (
    item: RequestAdmissionItem,
    restore: Restore
  ): Effect.Effect<RequestLease, QueueTimeout | UnknownResource | Shutdown> =>
    Effect.withFiber<RequestLease, QueueTimeout | UnknownResource | Shutdown>((fiber) => {
      const found = unknownOrShutdown(item.resource)
      if (!("semaphore" in found)) return Effect.fail(found)
      const pool = found
      let domain = findDomain(pool, item.resource)
      // Hot path: a known domain that never cooled down (or whose cooldown ended), no ramp, nobody queued.
      if (domain !== undefined && domain.blockedUntil === 0 && !domain.rampActive && pool.queued === 0 && !pending) {
        const known = domain
        return Effect.flatMap(known.takeBoth, (taken) =>
          taken === 0 ? commitTaken(fiber, pool, known, item, restore) : queueOrFail(pool, known, item, restore))
      }
      const now = nowOf(fiber)
      domain = touchDomain(pool, item.resource, now)
      const known = domain
      const take = () =>
        Effect.flatMap(known.takeBoth, (taken) =>
          taken === 0 ? commitTaken(fiber, pool, known, item, restore) : queueOrFail(pool, known, item, restore))
      const attempt = known.blockedUntil > now
        ? queueOrFail(pool, known, item, restore)
        : !contended(pool, now)
        ? take()
        : timeoutOf(item) === 0
        // "Try once" behind a queue: serve the eligible waiters first, then try what is left.
        ? Effect.andThen(pump(pool), Effect.suspend(take))
        : pending
        ? queueOrFail(pool, known, item, restore)
        : slowPath(pool, known, item, restore, fiber)
      return pending ? Effect.andThen(settle, attempt) : attempt
    })

  const acquire = (item: RequestAdmissionItem): Effect.Effect<RequestLease, QueueTimeout | UnknownResource | Shutdown, Scope.Scope> =>
    Effect.uninterruptibleMask((restore) =>
      Effect.flatMap(Effect.scope, (scope) =>
        Effect.tap(
          acquireLease(item, restore),
          (lease) => Scope.addFinalizer(scope, releaseIfActive(lease, ReleaseOutcome.localCancelled))
        ))
    )

  const tryAcquireLease = (
    item: RequestAdmissionItem
  ): Effect.Effect<RequestLease, Cooldown | NoCapacity | UnknownResource | Shutdown> =>
    Effect.withFiber<RequestLease, Cooldown | NoCapacity | UnknownResource | Shutdown>((fiber) => {
      const found = unknownOrShutdown(item.resource)
      if (!("semaphore" in found)) return Effect.fail(found)
      const pool = found
      const domain = touchDomain(pool, item.resource, nowOf(fiber))
      const deny = (fiber: Fiber.Fiber<unknown, unknown>, error: Cooldown | NoCapacity) => {
        if (listening()) {
          emit(nowOf(fiber), {
            kind: "request_acquire_denied",
            resource: domain.resource,
            group: groupOf(item, domain),
            reason: error._tag === "Cooldown" ? "cooldown" : error.limit
          })
          scheduleFlush(fiber)
        }
        return Effect.fail(error)
      }
      // Serve every eligible queued waiter first: a try never jumps ahead of one.
      return Effect.andThen(
        Effect.andThen(settle, pump(pool)),
        Effect.withFiber<RequestLease, Cooldown | NoCapacity | Shutdown>((fiber) => {
          const now = nowOf(fiber)
          if (shutdown) return Effect.fail(new Shutdown({ resource: item.resource }))
          if (domain.blockedUntil > now) {
            return deny(fiber, new Cooldown({ resource: item.resource, availableAtMillis: domain.blockedUntil }))
          }
          return Effect.flatMap(domain.takeBoth, (taken) =>
            taken === 0
              ? Effect.withFiber((fiber) => {
                const lease = admit(domain, item, groupOf(item, domain), nowOf(fiber), 0, false)
                scheduleFlush(fiber)
                return Effect.succeed(lease)
              })
              : Effect.withFiber((fiber) =>
                deny(fiber, new NoCapacity({ resource: item.resource, limit: taken === 1 ? "adaptive_limit" : "static_cap" }))
              ))
        })
      )
    })

  const tryAcquire = (item: RequestAdmissionItem) =>
    Effect.uninterruptible(
      Effect.flatMap(Effect.scope, (scope) =>
        Effect.tap(
          tryAcquireLease(item),
          (lease) => Scope.addFinalizer(scope, releaseIfActive(lease, ReleaseOutcome.localCancelled))
        ))
    )

  // ---------------------------------------------------------------- release and AIMD

  const applyAimd = (domain: Domain, lease: LeaseImpl, outcome: ReleaseOutcome, now: number) => {
    const notify = listening()
    switch (outcome.kind) {
      case "rate_limited": {
        // Bring the ramp up to date before the 429 aborts it, so the decrease starts from the real value.
        if (domain.rampActive) refreshRamp(domain, now)
        domain.rampActive = false
        domain.consecutiveRateLimits++
        domain.successStreak = 0
        const retryAfter = outcome.retryAfterSeconds
        const cooldownMs = retryAfter !== undefined && retryAfter > 0 && Number.isFinite(retryAfter)
          ? retryAfter * 1000
          : config.cooldownMs
        // A later 429 never shortens an active cooldown.
        // Whole milliseconds: the cooldown timer wakes exactly at the end, never a fraction before it.
        const blockedUntil = Math.max(domain.blockedUntil, now + Math.ceil(cooldownMs))
        const extended = blockedUntil !== domain.blockedUntil
        domain.blockedUntil = blockedUntil
        // Once per cascade: a lease admitted above the current limit was part of a burst already punished.
        if (lease.admittedLimit <= domain.currentLimit) {
          const previous = domain.currentLimit
          domain.currentLimit = Math.max(1, Math.floor(previous * config.decreaseFactor))
          domain.rateLimitCeiling = Math.max(1, lease.admittedLimit)
          domain.recovering = true
          domain.softCeilingPending = true
          if (domain.currentLimit !== previous) {
            if (notify) {
              emit(now, {
                kind: "request_limit_decreased",
                resource: domain.resource,
                previousLimit: previous,
                limit: domain.currentLimit,
                rateLimitCeiling: domain.rateLimitCeiling
              })
            }
            resizeQueue.push(domain)
            pending = true
          }
        }
        if (notify) {
          emit(now, {
            kind: "request_rate_limited",
            resource: domain.resource,
            group: lease.group,
            leaseId: lease.id,
            retryAfterSeconds: retryAfter,
            blockedUntilMillis: blockedUntil,
            limit: domain.currentLimit
          })
        }
        if (extended) {
          domain.cooling = true
          ensureTimer(domain)
        }
        publishCapacity(domain, now)
        return
      }
      case "success": {
        if (domain.rampActive) {
          refreshRamp(domain, now)
          // Successes do not count while the ramp is still climbing.
          if (domain.rampActive) {
            domain.successStreak = 0
            return
          }
        }
        if (now < domain.blockedUntil) return
        domain.consecutiveRateLimits = 0
        if (++domain.successStreak < config.successesUntilIncrease) return
        domain.successStreak = 0
        const previous = domain.currentLimit
        const max = effectiveMax(domain)
        domain.currentLimit = Math.min(max, previous + config.additiveIncreaseStep)
        if (domain.currentLimit === previous) return
        if (notify) {
          emit(now, {
            kind: "request_limit_increased",
            resource: domain.resource,
            previousLimit: previous,
            limit: domain.currentLimit,
            reason: "additive"
          })
        }
        if (domain.softCeilingPending && domain.currentLimit > domain.rateLimitCeiling) {
          domain.softCeilingPending = false
          if (notify) {
            emit(now, {
              kind: "request_soft_ceiling_recovered",
              resource: domain.resource,
              limit: domain.currentLimit,
              rateLimitCeiling: domain.rateLimitCeiling
            })
          }
        }
        if (domain.recovering && domain.currentLimit === max) {
          domain.recovering = false
          domain.softCeilingPending = false
          if (notify) emit(now, { kind: "request_fully_recovered", resource: domain.resource, limit: max })
        }
        limitChanged(domain, now)
        return
      }
      default: {
        if (!isProviderOutcome(outcome.kind)) return
        // Provider trouble other than a 429: do not climb on a streak that spans it.
        domain.successStreak = 0
        if (domain.inFlight === 0) domain.consecutiveRateLimits = 0
      }
    }
  }

  const releaseDiagnostic = (lease: RequestLease, reason: "duplicate" | "foreign_lease"): Effect.Effect<ReleaseResult> =>
    Effect.withFiber((fiber) => {
      if (reason === "duplicate") duplicateReleases++
      else foreignReleases++
      if (listening()) {
        emit(nowOf(fiber), { kind: "request_release_diagnostic", resource: lease.resource, leaseId: lease.id, reason })
        scheduleFlush(fiber)
      }
      return Effect.succeed({ released: false, reason })
    })


  /** Releases an active lease (a released one is left alone: callers decide whether that is a duplicate). */
  const releaseActive = (lease: LeaseImpl, outcome: ReleaseOutcome): Effect.Effect<unknown> =>
    Effect.withFiber((fiber) => {
      if (lease.state !== ACTIVE) return NOT_ACTIVE
      lease.state = RELEASED
      const domain = lease.domain
      const pool = domain.pool
      domain.inFlight--
      pool.inFlight--
      activeLeases--
      domain.lastOutcome = outcome.kind
      // The clock is read only when something needs it: an uneventful success on an unblocked,
      // unramped domain (the common case) depends on no time at all.
      const now = outcome.kind === "success" && domain.blockedUntil === 0 && !domain.rampActive && !listening()
        ? 0
        : nowOf(fiber)
      applyAimd(domain, lease, outcome, now)
      if (listening()) {
        emit(now, {
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
      scheduleFlush(fiber)
      if (!pending && pool.queued === 0) return domain.releasedResult
      // Freed capacity goes straight to the queue, resizes first (a decrease must not over-admit).
      return Effect.as(
        Effect.andThen(domain.releaseBoth, pending ? Effect.andThen(settle, pump(pool)) : pump(pool)),
        RELEASED_RESULT
      )
    })

  const NOT_ACTIVE: Effect.Effect<ReleaseResult> = Effect.succeed({ released: false, reason: "duplicate" })

  const release = (lease: RequestLease, outcome: ReleaseOutcome): Effect.Effect<ReleaseResult> =>
    Effect.suspend(() => {
      if (!(lease instanceof LeaseImpl) || lease.owner !== owner) return releaseDiagnostic(lease, "foreign_lease")
      if (lease.state !== ACTIVE) return releaseDiagnostic(lease, "duplicate")
      return Effect.uninterruptible(releaseActive(lease, outcome) as Effect.Effect<ReleaseResult>)
    })

  /** Scope finalizers and cleanups: release unless the holder already did (not a duplicate). */
  const releaseIfActive = (lease: RequestLease, outcome: ReleaseOutcome): Effect.Effect<unknown> =>
    lease instanceof LeaseImpl && lease.owner === owner ? releaseActive(lease, outcome) : Effect.void

  const outcomeOfExit = (exit: Exit.Exit<unknown, unknown>): ReleaseOutcome =>
    Exit.isSuccess(exit)
      ? ReleaseOutcome.success
      : Exit.hasInterrupts(exit)
      ? ReleaseOutcome.localCancelled
      : ReleaseOutcome.unexpectedException

  const withLease = <A, E, R>(
    item: RequestAdmissionItem,
    use: (lease: RequestLease) => Effect.Effect<A, E, R>
  ): Effect.Effect<A, E | QueueTimeout | UnknownResource | Shutdown, R> =>
    Effect.uninterruptibleMask((restore) =>
      Effect.flatMap(acquireLease(item, restore), (lease) =>
        Effect.onExit(restore(use(lease)), (exit) => releaseIfActive(lease, outcomeOfExit(exit))))
    )

  // ---------------------------------------------------------------- registration

  const registerSync = (registration: ModelRegistration, now: number) => {
    const key = { provider: registration.provider, model: registration.model }
    const label = poolLabel(key)
    const cap = Math.max(1, Math.floor(registration.maxParallelRequests) || 1)
    let pool = pools.get(label)
    if (pool === undefined) {
      pool = {
        key,
        label,
        capsByAlias: new Map(),
        staticCap: cap,
        semaphore: Semaphore.makeUnsafe(cap),
        inFlight: 0,
        queued: 0,
        domains: [],
        virtualTime: 0,
        flowSeq: 0,
        idle: new FlowHeap()
      }
      pools.set(label, pool)
      let byModel = poolsByProvider.get(key.provider)
      if (byModel === undefined) poolsByProvider.set(key.provider, byModel = new Map())
      byModel.set(key.model, pool)
    }
    pool.capsByAlias.set(registration.alias ?? label, cap)
    let staticCap = Infinity
    for (const value of pool.capsByAlias.values()) staticCap = Math.min(staticCap, value)
    const previousCap = pool.staticCap
    pool.staticCap = staticCap
    if (listening()) {
      emit(now, {
        kind: "request_resource_registered",
        resource: { provider: key.provider, model: key.model, domain: "chat" },
        reason: registration.alias ?? label,
        previousLimit: previousCap,
        limit: staticCap
      })
    }
    if (staticCap === previousCap) return
    poolResizeQueue.push(pool)
    pending = true
    for (const domain of pool.domains) {
      const max = effectiveMax(domain)
      if (domain.currentLimit > max) {
        // Lowering a cap clamps at once; raising only lifts the ceiling that additive increase climbs to.
        const previous = domain.currentLimit
        domain.currentLimit = max
        if (listening()) {
          emit(now, {
            kind: "request_limit_decreased",
            resource: domain.resource,
            previousLimit: previous,
            limit: max,
            reason: "static_cap"
          })
        }
        limitChanged(domain, now)
      } else {
        publishCapacity(domain, now)
      }
    }
  }

  const register = (registration: ModelRegistration): Effect.Effect<void> =>
    Effect.uninterruptible(Effect.withFiber((fiber) => {
      registerSync(registration, nowOf(fiber))
      scheduleFlush(fiber)
      const pool = poolOf(registration)!
      return Effect.andThen(settle, pump(pool))
    }))

  // ---------------------------------------------------------------- shutdown

  const shutdownEffect: Effect.Effect<void> = Effect.uninterruptible(Effect.withFiber((fiber) => {
    if (shutdown) return Effect.void
    shutdown = true
    const now = nowOf(fiber)
    let failed = 0
    for (const pool of pools.values()) {
      for (const domain of pool.domains) {
        let flow = domain.heap.peek()
        while (flow !== undefined) {
          const waiter = flow.head!
          removeWaiter(waiter)
          waiter.state = GONE
          waiters--
          failed++
          const error = new Shutdown({ resource: waiter.item.resource })
          outbox.push(() => {
            Deferred.doneUnsafe(waiter.deferred, Exit.fail(error))
          })
          if (listening()) {
            emit(now, {
              kind: "request_wait_cancelled",
              resource: domain.resource,
              group: waiter.flow.group,
              waitedMs: Math.max(0, now - waiter.enqueuedAt),
              reason: "shutdown"
            })
          }
          flow = domain.heap.peek()
        }
      }
    }
    const first = pools.values().next().value
    if (listening() && first !== undefined) {
      emit(now, {
        kind: "request_admission_shutdown",
        resource: { provider: first.key.provider, model: first.key.model, domain: "chat" },
        waiters: failed
      })
    }
    scheduleFlush(fiber)
    return Effect.void
  }))

  // ---------------------------------------------------------------- read-only views

  const pressureOf = (domain: Domain, now: number): RequestPressure => {
    const ramp = rampValue(domain, now)
    return {
      resource: domain.resource,
      capturedAtMillis: now,
      currentLimit: ramp ?? domain.currentLimit,
      effectiveMax: effectiveMax(domain),
      inFlight: domain.inFlight,
      waiters: domain.waiters,
      blockedUntilMillis: domain.blockedUntil > now ? domain.blockedUntil : null,
      cooldownRemainingMs: Math.max(0, domain.blockedUntil - now),
      rateLimitCeiling: domain.rateLimitCeiling,
      consecutiveRateLimits: domain.consecutiveRateLimits,
      lastOutcome: domain.lastOutcome,
      rampActive: ramp !== undefined && domain.rampActive
    }
  }

  /** The state a never-used domain would start with, computed without creating it. */
  const virtualDomain = (pool: Pool, resource: RequestResourceKey) => {
    const label = requestResourceLabel(resource)
    const clamp = config.maxLimitClamps.get(label)
    const max = Math.max(1, clamp === undefined ? pool.staticCap : Math.min(pool.staticCap, clamp))
    const initial = initialLimitOf(label, max)
    return { max, limit: config.startupRampMs > 0 && initial > 1 ? 1 : initial }
  }

  const pressure = (resource: RequestResourceKey): Effect.Effect<RequestPressure, UnknownResource> =>
    Effect.withFiber((fiber) => {
      const pool = poolOf(resource)
      if (pool === undefined) return Effect.fail(new UnknownResource({ resource }))
      const now = nowOf(fiber)
      const domain = findDomain(pool, resource)
      if (domain !== undefined) return Effect.succeed(pressureOf(domain, now))
      const { limit, max } = virtualDomain(pool, resource)
      return Effect.succeed({
        resource,
        capturedAtMillis: now,
        currentLimit: limit,
        effectiveMax: max,
        inFlight: 0,
        waiters: 0,
        blockedUntilMillis: null,
        cooldownRemainingMs: 0,
        rateLimitCeiling: 0,
        consecutiveRateLimits: 0,
        lastOutcome: null,
        rampActive: false
      })
    })

  const pressures: Effect.Effect<ReadonlyArray<RequestPressure>> = Effect.withFiber((fiber) => {
    const now = nowOf(fiber)
    const out: Array<RequestPressure> = []
    for (const pool of pools.values()) for (const domain of pool.domains) out.push(pressureOf(domain, now))
    return Effect.succeed(out)
  })

  const providerModelPressureOf = (pool: Pool, now: number): ProviderModelPressure => {
    const domains: Record<string, number> = {}
    for (const domain of pool.domains) domains[domain.resource.domain] = rampValue(domain, now) ?? domain.currentLimit
    return {
      providerModel: pool.key,
      capturedAtMillis: now,
      staticCap: pool.staticCap,
      inFlight: pool.inFlight,
      waiters: pool.queued,
      aliases: [...pool.capsByAlias.keys()].sort(),
      caps: Object.fromEntries(pool.capsByAlias),
      domains
    }
  }

  const providerModelPressure = (key: ProviderModelKey): Effect.Effect<ProviderModelPressure, UnknownResource> =>
    Effect.withFiber((fiber) => {
      const pool = poolOf(key)
      if (pool === undefined) {
        return Effect.fail(new UnknownResource({ resource: { provider: key.provider, model: key.model, domain: "chat" } }))
      }
      return Effect.succeed(providerModelPressureOf(pool, nowOf(fiber)))
    })

  const capacity = (resource: RequestResourceKey): Effect.Effect<RequestCapacityView, UnknownResource> =>
    Effect.withFiber((fiber) => {
      const pool = poolOf(resource)
      if (pool === undefined) return Effect.fail(new UnknownResource({ resource }))
      const now = nowOf(fiber)
      const domain = findDomain(pool, resource)
      if (domain !== undefined) return Effect.succeed(capacityView(domain, now))
      const { limit } = virtualDomain(pool, resource)
      return Effect.succeed({
        resource,
        limit: Math.min(limit, pool.staticCap),
        staticCap: pool.staticCap,
        open: true,
        blockedUntilMillis: null,
        inFlight: 0,
        waiters: 0
      })
    })

  const inspect: Effect.Effect<RequestAdmissionInspection> = Effect.sync(() => ({
    activeLeases,
    waiters,
    duplicateReleases,
    foreignReleases,
    droppedEvents,
    shutdown
  }))

  /** Fair-queue flows still held (active + idle), for tests that state shrinks as waiters leave. */
  const queueStateSize: Effect.Effect<number> = Effect.sync(() => {
    let n = 0
    for (const pool of pools.values()) n += flowCount(pool) + pool.idle.size
    return n
  })

  const subscribe = <A>(hub: PubSub.PubSub<A>, count: (delta: number) => void): Stream.Stream<A> =>
    Stream.unwrap(
      Effect.gen(function*() {
        yield* Effect.acquireRelease(Effect.sync(() => count(1)), () => Effect.sync(() => count(-1)))
        return Stream.fromSubscription(yield* PubSub.subscribe(hub))
      })
    )

  const events = subscribe(eventHub, (delta) => {
    eventSubscribers += delta
  })
  const capacityChanges = subscribe(capacityHub, (delta) => {
    capacitySubscribers += delta
  })

  /** For the executor: publish one of its events into the controller's sequence. */
  const publish = (input: RequestEventInput): Effect.Effect<void> =>
    Effect.withFiber((fiber) => {
      if (!listening()) return Effect.void
      emit(nowOf(fiber), input)
      scheduleFlush(fiber)
      return Effect.void
    })

  // Start-up registrations, and the shutdown that closes every waiter when the layer's scope closes.
  yield* Effect.withFiber((fiber) => {
    const now = nowOf(fiber)
    for (const registration of config.models) registerSync(registration, now)
    return settle
  })
  yield* Effect.addFinalizer(() => shutdownEffect)

  return {
    register,
    acquire,
    tryAcquire,
    withLease,
    release,
    pressure,
    pressures,
    providerModelPressure,
    capacity,
    capacityChanges,
    events,
    publish,
    listening: Effect.sync(listening),
    inspect,
    queueStateSize,
    shutdown: shutdownEffect
  }
})
