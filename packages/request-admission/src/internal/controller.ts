/**
 * The request-admission controller: the service's operations, wired from modules that each own one
 * question.
 *
 * - `core.ts`     — the shared state (config, pools, counters) every module works on
 * - `state.ts`    — pools, domains, the weighted-fair waiter queue (plain data, O(log n) helpers)
 * - `limits.ts`   — limit arithmetic and read-only views as pure functions of state, now and config
 * - `aimd.ts`     — AIMD, cooldown and ramp transitions of one domain
 * - `work.ts`     — what a synchronous step leaves behind (resizes, timers, capacity views)
 * - `timers.ts`   — running that work: resizes and the per-domain cooldown/ramp timers
 * - `outbox.ts`   — events, capacity views and waiter wake-ups, published after the step
 * - `registry.ts` — registration, static caps, domain creation
 * - `leases.ts`   — the lease, admitting and releasing it
 * - `handoff.ts`  — parking waiters, the pump, timeouts, interruption, shutdown of waiters
 * - `views.ts`    — pressure, capacity and leak views
 *
 * Capacity is counted in permits (`permits.ts`): one count per provider/model sized to the static
 * cap, one per provider/model/domain sized to the admission limit. A lease holds one permit of each;
 * no fiber ever waits on a count (waiters park in our own queue). Bookkeeping (counters, permits,
 * AIMD, queue) changes only inside single synchronous steps (one `Effect.withFiber` body), so no step
 * ever observes another half-done.
 */
import type { RequestResourceKey } from "@sluice/scheduling-resources"
import { Effect, type Fiber, Scope } from "effect"
import type { ModelRegistration, ResolvedConfig } from "../config.js"
import { Cooldown, NoCapacity, QueueTimeout, Shutdown, UnknownResource } from "../errors.js"
import type { RequestEventInput } from "../RequestEvent.js"
import type { RequestAdmissionItem, RequestLease } from "../RequestLease.js"
import { ReleaseOutcome } from "../ReleaseOutcome.js"
import { Core } from "./core.js"
import { groupOf, makeHandoff, type Restore } from "./handoff.js"
import { admit, type LeaseImpl, makeRelease } from "./leases.js"
import { isClosed } from "./limits.js"
import { makeOutbox } from "./outbox.js"
import { findDomain, registerSync, touchDomain } from "./registry.js"
import { type Domain, type Pool, releaseBoth, takeBoth } from "./state.js"
import { makeSettle, nowOf } from "./timers.js"
import { makeViews } from "./views.js"

export const makeController = Effect.fnUntraced(function*(config: ResolvedConfig) {
  const scope = yield* Effect.scope
  const outbox = yield* makeOutbox(config.eventBufferSize)
  const core = new Core(config, outbox, scope)
  const work = core.work
  const { settle, settleNow } = makeSettle(core)
  /** `effect` after whatever the last synchronous step left (resizes, a timer to start), if anything. */
  const settled = <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
    work.pending ? Effect.andThen(settle, effect) : effect
  const { release, releaseIfActive, releaseOnExit } = makeRelease(core, settleNow)
  const { contended, failAllWaiters, pump, queueOrFail, timeoutOf } = makeHandoff(core, releaseIfActive)
  const views = makeViews(core)

  // ---------------------------------------------------------------- acquire

  const unknownOrShutdown = (resource: RequestResourceKey): Pool | Shutdown | UnknownResource => {
    if (core.shutdown) return new Shutdown({ resource })
    const pool = core.poolOf(resource)
    return pool === undefined ? new UnknownResource({ resource }) : pool
  }

  const queueLater = (pool: Pool, domain: Domain, item: RequestAdmissionItem, restore: Restore) =>
    Effect.withFiber<RequestLease, QueueTimeout | Shutdown>((fiber) => queueOrFail(pool, domain, item, restore, fiber))

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
    if (core.shutdown) {
      releaseBoth(domain)
      return Effect.fail(new Shutdown({ resource: item.resource }))
    }
    // A cooldown may have begun while the permits were being taken; the clock is read only if one exists
    // (or for the first wave, whose end may be timed).
    const now = domain.blockedUntil === 0 && !domain.firstWave && !outbox.listening() ? 0 : nowOf(fiber)
    if (isClosed(domain, now)) {
      releaseBoth(domain)
      return queueLater(pool, domain, item, restore)
    }
    const lease = admit(core, domain, item, groupOf(item, domain), now, 0, false)
    outbox.schedule(fiber)
    // Admitting the last lease of a first wave starts its timer.
    return settled(Effect.succeed(lease))
  }

  /** Takes both permits at once, or queues (or fails a zero timeout) when they are not free. */
  const take = (
    fiber: Fiber.Fiber<unknown, unknown>,
    pool: Pool,
    domain: Domain,
    item: RequestAdmissionItem,
    restore: Restore
  ) =>
    takeBoth(domain) === 0 ? commitTaken(fiber, pool, domain, item, restore) : queueLater(pool, domain, item, restore)

  /** `take` as an effect: it runs when the effect does (after a `settle` or `pump` before it). */
  const takeLater = (pool: Pool, domain: Domain, item: RequestAdmissionItem, restore: Restore) =>
    Effect.withFiber<RequestLease, QueueTimeout | Shutdown>((fiber) => take(fiber, pool, domain, item, restore))

  /**
   * The hot path in one synchronous step: a registered, known domain that is not cooling down (or
   * whose cooldown ended), without a ramp, pending work or anybody queued in its pool, with both
   * permits free. Returns the admitted lease, or `undefined` (nothing taken) for the general path.
   */
  const admitNow = (fiber: Fiber.Fiber<unknown, unknown>, item: RequestAdmissionItem): LeaseImpl | undefined => {
    if (core.shutdown || work.pending) return undefined
    const pool = core.poolOf(item.resource)
    if (pool === undefined || pool.queued !== 0) return undefined
    const domain = findDomain(pool, item.resource)
    if (domain === undefined || domain.blockedUntil !== 0 || domain.rampActive || takeBoth(domain) !== 0) {
      return undefined
    }
    const lease = admit(
      core,
      domain,
      item,
      groupOf(item, domain),
      outbox.listening() || domain.firstWave ? nowOf(fiber) : 0,
      0,
      false
    )
    outbox.schedule(fiber)
    return lease
  }

  /**
   * Acquire without the scope, as one synchronous step of `fiber` that returns the rest: the caller
   * makes sure the lease is released (uninterruptible region).
   */
  const acquireStep = (
    fiber: Fiber.Fiber<unknown, unknown>,
    item: RequestAdmissionItem,
    restore: Restore
  ): Effect.Effect<RequestLease, QueueTimeout | UnknownResource | Shutdown> => {
    const found = unknownOrShutdown(item.resource)
    if (!("permits" in found)) return Effect.fail(found)
    const pool = found
    const known = findDomain(pool, item.resource)
    // Hot path: a known domain that never cooled down (or whose cooldown ended), no ramp, nobody queued.
    if (known !== undefined && known.blockedUntil === 0 && !known.rampActive && pool.queued === 0 && !work.pending) {
      return take(fiber, pool, known, item, restore)
    }
    const now = nowOf(fiber)
    const domain = touchDomain(core, pool, item.resource, now)
    const attempt = isClosed(domain, now)
      ? queueLater(pool, domain, item, restore)
      : !contended(pool, now)
      ? takeLater(pool, domain, item, restore)
      : timeoutOf(item) === 0
      // "Try once" behind a queue: serve the eligible waiters first, then try what is left.
      ? Effect.andThen(pump(pool), takeLater(pool, domain, item, restore))
      : work.pending
      ? queueLater(pool, domain, item, restore)
      : queueOrFail(pool, domain, item, restore, fiber)
    return settled(attempt)
  }

  /** Acquire without the scope: the caller makes sure the lease is released (uninterruptible region). */
  const acquireLease = (item: RequestAdmissionItem, restore: Restore) =>
    Effect.withFiber<RequestLease, QueueTimeout | UnknownResource | Shutdown>((fiber) =>
      acquireStep(fiber, item, restore)
    )

  /** The lease belongs to the current scope: released as `local_cancelled` unless released before. */
  const scoped = <E>(acquired: Effect.Effect<RequestLease, E>) =>
    Effect.flatMap(
      Effect.scope,
      (scope) =>
        Effect.tap(
          acquired,
          (lease) => Scope.addFinalizer(scope, releaseIfActive(lease, ReleaseOutcome.localCancelled))
        )
    )

  const acquire = (
    item: RequestAdmissionItem
  ): Effect.Effect<RequestLease, QueueTimeout | UnknownResource | Shutdown, Scope.Scope> =>
    Effect.uninterruptibleMask((restore) => scoped(acquireLease(item, restore)))

  const tryAcquireLease = (
    item: RequestAdmissionItem
  ): Effect.Effect<RequestLease, Cooldown | NoCapacity | UnknownResource | Shutdown> =>
    Effect.withFiber<RequestLease, Cooldown | NoCapacity | UnknownResource | Shutdown>((fiber) => {
      const found = unknownOrShutdown(item.resource)
      if (!("permits" in found)) return Effect.fail(found)
      const pool = found
      const domain = touchDomain(core, pool, item.resource, nowOf(fiber))
      const deny = (fiber: Fiber.Fiber<unknown, unknown>, error: Cooldown | NoCapacity) => {
        if (outbox.listening()) {
          outbox.emit(nowOf(fiber), {
            kind: "request_acquire_denied",
            resource: domain.resource,
            group: groupOf(item, domain),
            reason: error._tag === "Cooldown" ? "cooldown" : error.limit
          })
          outbox.schedule(fiber)
        }
        return Effect.fail(error)
      }
      // Serve every eligible queued waiter first: a try never jumps ahead of one.
      return Effect.andThen(
        Effect.andThen(settle, pump(pool)),
        Effect.withFiber<RequestLease, Cooldown | NoCapacity | Shutdown>((fiber) => {
          const now = nowOf(fiber)
          if (core.shutdown) return Effect.fail(new Shutdown({ resource: item.resource }))
          if (isClosed(domain, now)) {
            return deny(fiber, new Cooldown({ resource: item.resource, availableAtMillis: domain.blockedUntil }))
          }
          const taken = takeBoth(domain)
          if (taken !== 0) {
            return deny(
              fiber,
              new NoCapacity({ resource: item.resource, limit: taken === 1 ? "adaptive_limit" : "static_cap" })
            )
          }
          const lease = admit(core, domain, item, groupOf(item, domain), now, 0, false)
          outbox.schedule(fiber)
          return settled(Effect.succeed(lease))
        })
      )
    })

  const tryAcquire = (item: RequestAdmissionItem) => Effect.uninterruptible(scoped(tryAcquireLease(item)))

  const withLease = <A, E, R>(
    item: RequestAdmissionItem,
    use: (lease: RequestLease) => Effect.Effect<A, E, R>
  ): Effect.Effect<A, E | QueueTimeout | UnknownResource | Shutdown, R> =>
    Effect.uninterruptibleMask((restore) =>
      Effect.withFiber((fiber) => {
        const lease = admitNow(fiber, item)
        if (lease === undefined) {
          return Effect.flatMap(acquireStep(fiber, item, restore), (lease) =>
            useLease(fiber, lease as LeaseImpl, use, restore))
        }
        // Admitting the last lease of a first wave starts its timer.
        return settled(useLease(fiber, lease, use, restore))
      })
    )

  /** Runs `use` (interruptible again); its exit releases the lease in one synchronous step unless `use` released it. */
  const useLease = <A, E, R>(
    fiber: Fiber.Fiber<unknown, unknown>,
    lease: LeaseImpl,
    use: (lease: RequestLease) => Effect.Effect<A, E, R>,
    restore: Restore
  ): Effect.Effect<A, E, R> => Effect.onExitPrimitive(restore(use(lease)), (exit) => releaseOnExit(fiber, lease, exit))

  // ---------------------------------------------------------------- registration and shutdown

  const register = (registration: ModelRegistration): Effect.Effect<void> =>
    Effect.uninterruptible(Effect.withFiber((fiber) => {
      const pool = registerSync(core, registration, nowOf(fiber))
      outbox.schedule(fiber)
      return Effect.andThen(settle, pump(pool))
    }))

  const shutdown: Effect.Effect<void> = Effect.uninterruptible(Effect.withFiber((fiber) => {
    if (core.shutdown) return Effect.void
    core.shutdown = true
    const now = nowOf(fiber)
    const failed = failAllWaiters(now)
    const first = core.pools.values().next().value
    if (outbox.listening() && first !== undefined) {
      outbox.emit(now, {
        kind: "request_admission_shutdown",
        resource: { provider: first.key.provider, model: first.key.model, domain: "chat" },
        waiters: failed
      })
    }
    outbox.schedule(fiber)
    return Effect.void
  }))

  /** For the executor: publish one of its events into the controller's sequence. */
  const publish = (input: RequestEventInput): Effect.Effect<void> =>
    Effect.withFiber((fiber) => {
      if (!outbox.listening()) return Effect.void
      outbox.emit(nowOf(fiber), input)
      outbox.schedule(fiber)
      return Effect.void
    })

  // Start-up registrations, and the shutdown that closes every waiter when the layer's scope closes.
  yield* Effect.withFiber((fiber) => {
    const now = nowOf(fiber)
    for (const registration of config.models) registerSync(core, registration, now)
    return settle
  })
  yield* Effect.addFinalizer(() => shutdown)

  return {
    register,
    acquire,
    tryAcquire,
    withLease,
    release,
    ...views,
    capacityChanges: outbox.capacityChanges,
    events: outbox.events,
    publish,
    listening: Effect.sync(() => outbox.listening()),
    shutdown
  }
})
