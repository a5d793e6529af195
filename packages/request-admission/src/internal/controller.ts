/**
 * The request-admission controller: the service's operations, wired from parts that each own one kind of state.
 * The construction order below is the dependency order; no part is filled in later.
 *
 * - `outbox/`  — deliveries after each step: waiter wake-ups, events, capacity views (its own fiber)
 * - `limits/`  — pools and domains with their semaphores, AIMD, pending resizes and timers (`Work`, `Settle`),
 *                and the RPM / TPM budgets of provider/models (`budget`, `BudgetGate`)
 * - `leases/`  — leases and their counts; releasing them exactly once
 * - `queue/`   — the weighted-fair waiter queue
 * - `handoff/` — the pump that hands free capacity to waiters, and a waiter's life (park, timeout, interrupt)
 * - `views/`   — pressure, capacity, leak and permit views
 *
 * Capacity is held in Effect `Semaphore`s used without waiting: one per provider/model sized to the static cap,
 * one per provider/model/domain sized to the adaptive limit. A lease holds one permit of each. Bookkeeping
 * (counts, AIMD, the queue) changes only inside synchronous steps (one `Effect.withFiber` body), so no step ever
 * observes another half-done; semaphore operations are effects between steps, and every step that commits an
 * admission re-checks what they may have missed.
 */
import type { RequestResourceKey } from "@sluice/scheduling-resources"
import { Effect, type Fiber, Scope } from "effect"
import type { ModelRegistration, ResolvedConfig } from "../config.js"
import {
  RequestAdmissionCooldown,
  RequestAdmissionNoCapacity,
  type RequestAdmissionQueueTimeout,
  RequestAdmissionShutdown,
  RequestAdmissionUnknownResource
} from "../errors.js"
import type { RequestAdmissionShape } from "../RequestAdmission.js"
import type { RequestAdmissionItem, RequestLease } from "../RequestLease.js"
import { ReleaseOutcome } from "../ReleaseOutcome.js"
import { type AdmissionInternals, InternalsKey } from "./AdmissionInternals.js"
import { nowOf, stepClock } from "./clock.js"
import { contended, groupOf, makeHandoff, type Restore } from "./handoff/Handoff.js"
import { makePump } from "./handoff/Pump.js"
import { Leases } from "./leases/Leases.js"
import { makeRelease, outcomeOfExit } from "./leases/Release.js"
import { Lifecycle } from "./Lifecycle.js"
import { isClosed } from "./limits/arithmetic.js"
import { Budgets } from "./limits/budget.js"
import { makeBudgetGate } from "./limits/BudgetGate.js"
import { Pools } from "./limits/Pools.js"
import { CAP_FULL, type Domain, LIMIT_FULL, Pool, TAKEN, type Taken } from "./limits/records.js"
import { makeSettle } from "./limits/Settle.js"
import { Work } from "./limits/Work.js"
import { makeOutbox } from "./outbox/Outbox.js"
import { makeViews } from "./views/views.js"

/** `withLease`'s hot path held both permits but could not admit: the general path takes over. */
const NOT_ADMITTED: unique symbol = Symbol("NotAdmitted")
const NOT_ADMITTED_EFFECT = Effect.succeed<typeof NOT_ADMITTED>(NOT_ADMITTED)

type AcquireFailure = RequestAdmissionQueueTimeout | RequestAdmissionUnknownResource | RequestAdmissionShutdown
type TryFailure =
  | RequestAdmissionCooldown
  | RequestAdmissionNoCapacity
  | RequestAdmissionUnknownResource
  | RequestAdmissionShutdown

export const makeController = Effect.fnUntraced(function*(config: ResolvedConfig) {
  const scope = yield* Effect.scope
  const outbox = yield* makeOutbox(config.eventBufferSize, scope)
  const lifecycle = new Lifecycle()
  const work = new Work(config, outbox)
  const pools = new Pools(work, outbox, new Budgets(config.budgetBurstSeconds))
  const leases = new Leases(work, outbox)
  const budgets = makeBudgetGate(config, outbox, lifecycle, scope)
  const pump = makePump(leases, outbox, budgets)
  const settle = makeSettle(work, outbox, pump, lifecycle, scope)
  const release = makeRelease(leases, work, outbox, settle, pump)
  const handoff = makeHandoff(config, pools, outbox, pump, release)
  const views = makeViews(config, pools, leases, outbox, lifecycle)

  /** `effect` after whatever the last synchronous step left (resizes, a timer to start), if anything. */
  const settled = <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
    work.pending ? Effect.andThen(settle, effect) : effect

  /** Gives back the permits of an admission that will not be committed; the queue may use them. */
  const rollback = (domain: Domain): Effect.Effect<void> => Effect.andThen(domain.giveBoth, pump(domain.pool))

  // ---------------------------------------------------------------- acquire

  const poolOrRefusal = (
    resource: RequestResourceKey
  ): Pool | RequestAdmissionShutdown | RequestAdmissionUnknownResource => {
    if (lifecycle.shutdown) return new RequestAdmissionShutdown({ resource })
    return pools.poolOf(resource) ?? new RequestAdmissionUnknownResource({ resource })
  }

  const queueLater = (pool: Pool, domain: Domain, item: RequestAdmissionItem, restore: Restore) =>
    Effect.withFiber<RequestLease, AcquireFailure>((fiber) => handoff.queueOrFail(pool, domain, item, restore, fiber))

  /** Both permits are taken: commit the lease, unless a shutdown, a cooldown or a pending resize came first. */
  const commitTaken = (pool: Pool, domain: Domain, item: RequestAdmissionItem, restore: Restore) =>
    Effect.withFiber<RequestLease, AcquireFailure>((fiber) => {
      if (lifecycle.shutdown) {
        return Effect.andThen(rollback(domain), Effect.fail(new RequestAdmissionShutdown({ resource: item.resource })))
      }
      const now = nowOf(fiber)
      if (domain.resizing || isClosed(domain, now)) {
        return Effect.andThen(rollback(domain), queueLater(pool, domain, item, restore))
      }
      const budget = pool.budget
      const charge = budget === undefined ? undefined : budgets.charge(budget, item, now)
      if (budget !== undefined && charge === undefined) {
        return Effect.andThen(rollback(domain), queueLater(pool, domain, item, restore))
      }
      const lease = leases.admit(domain, groupOf(item, domain), fiber, 0, false)
      lease.charge = charge
      outbox.schedule(fiber)
      // Admitting the last lease of a first wave starts its timer.
      return settled(Effect.succeed(lease))
    })

  /**
   * `next` after a `takeBoth` outside the pump that took nothing. A full static cap means the domain's permit was
   * held for a moment and given back: a pump that ran meanwhile may have missed it, so the queue is served first.
   */
  const afterMiss = <A, E>(pool: Pool, taken: Taken, next: Effect.Effect<A, E>): Effect.Effect<A, E> =>
    taken === CAP_FULL && pool.queue.queued !== 0 ? Effect.andThen(pump(pool), next) : next

  /** Takes both permits and commits, or queues (or fails a zero timeout) when they are not free. */
  const take = (pool: Pool, domain: Domain, item: RequestAdmissionItem, restore: Restore) =>
    Effect.flatMap(
      domain.takeBoth,
      (taken) =>
        taken === TAKEN
          ? commitTaken(pool, domain, item, restore)
          : afterMiss(pool, taken, queueLater(pool, domain, item, restore))
    )

  /** Acquire without the scope: the caller makes sure the lease is released (uninterruptible region). */
  const acquireLease = (item: RequestAdmissionItem, restore: Restore) =>
    Effect.withFiber<RequestLease, AcquireFailure>((fiber) => {
      const found = poolOrRefusal(item.resource)
      if (!(found instanceof Pool)) return Effect.fail(found)
      const pool = found
      const known = pools.findDomain(pool, item.resource)
      // Hot path: a known domain that is not cooling down, no ramp, nobody queued, nothing pending.
      if (
        known !== undefined && known.blockedUntil === 0 && !known.rampActive && pool.queue.queued === 0 &&
        !work.pending && !known.resizing
      ) {
        return take(pool, known, item, restore)
      }
      const now = nowOf(fiber)
      const domain = pools.touchDomain(pool, item.resource, now)
      const attempt = isClosed(domain, now)
        ? queueLater(pool, domain, item, restore)
        : !contended(pool, now)
        ? take(pool, domain, item, restore)
        : handoff.timeoutOf(item) === 0
        // "Try once" behind a queue: serve the eligible waiters first, then try what is left.
        ? Effect.andThen(pump(pool), take(pool, domain, item, restore))
        : queueLater(pool, domain, item, restore)
      return settled(attempt)
    })

  /** The lease belongs to the current scope: released as `local_cancelled` unless released before. */
  const scoped = <E>(acquired: Effect.Effect<RequestLease, E>) =>
    Effect.flatMap(
      Effect.scope,
      (scope) =>
        Effect.tap(
          acquired,
          (lease) => Scope.addFinalizer(scope, release.releaseIfActive(lease, ReleaseOutcome.localCancelled))
        )
    )

  const acquire = (item: RequestAdmissionItem): Effect.Effect<RequestLease, AcquireFailure, Scope.Scope> =>
    Effect.uninterruptibleMask((restore) => scoped(acquireLease(item, restore)))

  // ---------------------------------------------------------------- tryAcquire

  const deny = (
    fiber: Fiber.Fiber<unknown, unknown>,
    domain: Domain,
    item: RequestAdmissionItem,
    error: TryFailure
  ) => {
    if (
      outbox.listening() && (error._tag === "RequestAdmissionCooldown" || error._tag === "RequestAdmissionNoCapacity")
    ) {
      outbox.emit(nowOf(fiber), {
        _tag: "request_acquire_denied",
        resource: domain.resource,
        group: groupOf(item, domain),
        reason: error._tag === "RequestAdmissionCooldown" ? "cooldown" : error.limit
      })
      outbox.schedule(fiber)
    }
    return Effect.fail(error)
  }

  const cooldown = (domain: Domain, item: RequestAdmissionItem) =>
    new RequestAdmissionCooldown({ resource: item.resource, availableAtMillis: domain.blockedUntil })

  const commitTry = (domain: Domain, item: RequestAdmissionItem) =>
    Effect.withFiber<RequestLease, TryFailure>((fiber) => {
      if (lifecycle.shutdown) {
        return Effect.andThen(rollback(domain), Effect.fail(new RequestAdmissionShutdown({ resource: item.resource })))
      }
      const now = nowOf(fiber)
      if (isClosed(domain, now)) {
        return Effect.andThen(rollback(domain), deny(fiber, domain, item, cooldown(domain, item)))
      }
      if (domain.resizing) {
        // The limit is being lowered this very moment: no decision on a stale size.
        const denied = new RequestAdmissionNoCapacity({ resource: item.resource, limit: "adaptive_limit" })
        return Effect.andThen(rollback(domain), deny(fiber, domain, item, denied))
      }
      const budget = domain.pool.budget
      const charge = budget === undefined ? undefined : budgets.charge(budget, item, now)
      if (budget !== undefined && charge === undefined) {
        const denied = new RequestAdmissionNoCapacity({ resource: item.resource, limit: budget.lacking })
        return Effect.andThen(rollback(domain), deny(fiber, domain, item, denied))
      }
      const lease = leases.admit(domain, groupOf(item, domain), fiber, 0, false)
      lease.charge = charge
      outbox.schedule(fiber)
      return settled(Effect.succeed(lease))
    })

  const tryTake = (domain: Domain, item: RequestAdmissionItem) =>
    Effect.withFiber<RequestLease, TryFailure>((fiber) => {
      if (lifecycle.shutdown) return Effect.fail(new RequestAdmissionShutdown({ resource: item.resource }))
      if (isClosed(domain, nowOf(fiber))) return deny(fiber, domain, item, cooldown(domain, item))
      return Effect.flatMap(domain.takeBoth, (taken) =>
        taken === TAKEN
          ? commitTry(domain, item)
          : afterMiss(
            domain.pool,
            taken,
            Effect.withFiber((fiber) =>
              deny(
                fiber,
                domain,
                item,
                new RequestAdmissionNoCapacity({
                  resource: item.resource,
                  limit: taken === LIMIT_FULL ? "adaptive_limit" : "static_cap"
                })
              )
            )
          ))
    })

  const tryAcquireLease = (item: RequestAdmissionItem) =>
    Effect.withFiber<RequestLease, TryFailure>((fiber) => {
      const found = poolOrRefusal(item.resource)
      if (!(found instanceof Pool)) return Effect.fail(found)
      const domain = pools.touchDomain(found, item.resource, nowOf(fiber))
      // Serve every eligible queued waiter first: a try never jumps ahead of one.
      return Effect.andThen(Effect.andThen(settle, pump(found)), tryTake(domain, item))
    })

  const tryAcquire = (item: RequestAdmissionItem): Effect.Effect<RequestLease, TryFailure, Scope.Scope> =>
    Effect.uninterruptible(scoped(tryAcquireLease(item)))

  // ---------------------------------------------------------------- withLease

  /** The hot path's domain: registered and used before, open, no ramp, nobody queued, nothing pending. */
  const readyDomain = (item: RequestAdmissionItem): Domain | undefined => {
    if (lifecycle.shutdown || work.pending) return undefined
    const pool = pools.poolOf(item.resource)
    if (pool === undefined || pool.queue.queued !== 0 || pool.budget !== undefined) return undefined
    const domain = pools.findDomain(pool, item.resource)
    return domain !== undefined && domain.blockedUntil === 0 && !domain.rampActive && !domain.resizing
      ? domain
      : undefined
  }

  /** After the semaphores took back a hot-path lease's permits: resizes it decided, then the queue. */
  const afterHeld = (pool: Pool): Effect.Effect<void> | undefined =>
    work.pending ? Effect.andThen(settle, pump(pool, 1)) : pool.queue.queued === 0 ? undefined : pump(pool, 1)

  /**
   * The hot path: `use` runs inside `withPermitsIfAvailable` of the pool's and the domain's semaphores, which give
   * the permits back when it ends, however it ends — whatever the step that closes the lease does. The lease is
   * counted in once both permits are held, and closed (counts, AIMD, events) when `use` ends unless `use`
   * released it itself.
   */
  const useHeld = <A, E, R>(
    domain: Domain,
    item: RequestAdmissionItem,
    use: (lease: RequestLease) => Effect.Effect<A, E, R>,
    restore: Restore
  ): Effect.Effect<A | typeof NOT_ADMITTED, E, R> =>
    Effect.withFiber((fiber): Effect.Effect<A | typeof NOT_ADMITTED, E, R> => {
      // Other fibers may have run since the checks: a shutdown, a cooldown, a pending resize or a budget (registered
      // meanwhile) stops it here.
      if (
        lifecycle.shutdown || domain.resizing || (domain.blockedUntil !== 0 && isClosed(domain, nowOf(fiber))) ||
        domain.pool.budget !== undefined
      ) {
        return NOT_ADMITTED_EFFECT
      }
      const lease = leases.make(domain, groupOf(item, domain), 0, false)
      // Built before the lease counts: if `use` throws, nothing is left counted in.
      const used = use(lease)
      leases.countIn(lease, fiber, false)
      outbox.schedule(fiber)
      const held = Effect.onExitPrimitive(restore(used), (exit) => {
        if (!lease.active) return undefined
        leases.close(lease)
        // If this throws, the lease stays closed and the semaphores still take their permits back.
        leases.record(lease, outcomeOfExit(exit), stepClock(fiber))
        outbox.schedule(fiber)
        return work.pending ? settle : undefined
      })
      // Admitting the last lease of a first wave starts its timer.
      return work.pending ? Effect.andThen(settle, held) : held
    })

  const withLease = <A, E, R>(
    item: RequestAdmissionItem,
    use: (lease: RequestLease) => Effect.Effect<A, E, R>
  ): Effect.Effect<A, E | AcquireFailure, R> =>
    Effect.uninterruptibleMask((restore) => {
      const domain = readyDomain(item)
      if (domain === undefined) return useAcquired(item, use, restore)
      const pool = domain.pool
      // One frame for both outcomes rather than an exit handler and a continuation: at about 20 runtime steps per
      // lease, each step is ~5 % of the hot path.
      return Effect.matchCauseEffect(domain.withBoth(useHeld(domain, item, use, restore)), {
        onFailure: (cause) => {
          const after = afterHeld(pool)
          // `ensuring` keeps `use`'s failure whatever the pump does.
          return after === undefined ? Effect.failCause(cause) : Effect.ensuring(Effect.failCause(cause), after)
        },
        onSuccess: (held) => {
          const after = afterHeld(pool)
          const result = held._tag === "Some" && held.value._tag === "Some" && held.value.value !== NOT_ADMITTED
            ? Effect.succeed(held.value.value as A)
            // A permit was not free (or the checks failed once both were held): the general path queues.
            : useAcquired(item, use, restore)
          return after === undefined ? result : Effect.andThen(after, result)
        }
      })
    })

  /** `withLease` through `acquire`: the lease returns its permits itself when it is released. */
  const useAcquired = <A, E, R>(
    item: RequestAdmissionItem,
    use: (lease: RequestLease) => Effect.Effect<A, E, R>,
    restore: Restore
  ): Effect.Effect<A, E | AcquireFailure, R> =>
    Effect.flatMap(
      acquireLease(item, restore),
      (lease) =>
        // `use` runs interruptibly; its exit releases the lease unless `use` released it itself.
        Effect.onExitPrimitive(
          restore(Effect.suspend(() => use(lease))),
          (exit) => leases.owns(lease) && lease.active ? release.releaseActive(lease, outcomeOfExit(exit)) : undefined
        )
    )

  // ---------------------------------------------------------------- registration and shutdown

  const register = (registration: ModelRegistration): Effect.Effect<void> =>
    Effect.uninterruptible(Effect.withFiber((fiber) => {
      const pool = pools.register(registration, nowOf(fiber))
      outbox.schedule(fiber)
      return Effect.andThen(settle, pump(pool))
    }))

  const shutdown: Effect.Effect<void> = Effect.uninterruptible(Effect.withFiber((fiber) => {
    if (lifecycle.shutdown) return Effect.void
    lifecycle.shutdown = true
    const now = nowOf(fiber)
    const failed = handoff.failAllWaiters(now)
    if (outbox.listening()) outbox.emit(now, { _tag: "request_admission_shutdown", waiters: failed })
    // Delivered here, not on the outbox's fiber: when the controller's scope closes, that fiber stops next.
    return outbox.flush
  }))

  const internals: AdmissionInternals = {
    listening: () => outbox.listening(),
    emit: (fiber, event) => {
      outbox.emit(nowOf(fiber), event)
      outbox.schedule(fiber)
    },
    queueStateSize: views.queueStateSize,
    permits: views.permits
  }

  // Start-up registrations, and the shutdown that fails every waiter when the layer's scope closes.
  yield* Effect.withFiber((fiber) => {
    const now = nowOf(fiber)
    for (const registration of config.models) pools.register(registration, now)
    return settle
  })
  yield* Effect.addFinalizer(() => shutdown)

  const service: RequestAdmissionShape = {
    register,
    acquire,
    tryAcquire,
    withLease,
    release: release.release,
    pressure: views.pressure,
    pressures: views.pressures,
    providerModelPressure: views.providerModelPressure,
    capacity: views.capacity,
    capacityChanges: outbox.capacityChanges,
    events: outbox.events,
    inspect: views.inspect,
    shutdown
  }
  return Object.assign(service, { [InternalsKey]: internals })
})
