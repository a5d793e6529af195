/**
 * `SharedAdmission`: this worker's view of the lease table that every worker shares through Redis.
 *
 * - One pump per resource asks the table for as many leases as the worker has waiters (one script call, however
 *   many), hands them out in arrival order, and sleeps until a release wakes it (on its own channel, or by the reply
 *   of its own release), the cooldown ends, or the poll interval passes.
 * - One heartbeat per worker renews every lease it holds in one call. A lease the table no longer has, or one
 *   the worker could not renew before its TTL (less one heartbeat) ran out, is lost: whoever uses it is told
 *   (`lost`) and should abort, because another worker may already hold the slot.
 * - Release runs uninterruptibly, is retried briefly, and can never be lost: if Redis does not take it, nobody
 *   renews the lease any more and it expires within the TTL.
 * - Redis unreachable: acquires fail with `SharedAdmissionUnavailable` (fail closed).
 */
import type { ReleaseOutcome } from "@sluice/request-admission"
import { type RequestResourceKey, requestResourceLabel } from "@sluice/scheduling-resources"
import { Clock, Context, Deferred, Effect, Exit, Layer, Queue, Random, Schedule } from "effect"
import * as Redis from "effect/persistence/Redis"
import { hostname } from "node:os"
import { decodeSharedConfig, type SharedAdmissionConfig, type SharedAdmissionConfigInput } from "./config.js"
import {
  type SharedAdmissionConfigError,
  SharedAdmissionLeaseLost,
  SharedAdmissionShutdown,
  type SharedAdmissionUnavailable
} from "./errors.js"
import { type LeaseStore, makeLeaseStore, type SharedState } from "./LeaseStore.js"
import type { AimdParams, ResourceKeys } from "./scripts.js"

/** One shared lease: one slot of the resource's shared limit, held by this worker until released. */
export interface SharedLease {
  /** The lease's name in the table: `worker|seq|admittedLimit`. */
  readonly member: string
  readonly resource: RequestResourceKey
  /** The shared limit when the lease was granted (drives "decrease once per cascade"). */
  readonly admittedLimit: number
}

export interface SharedReleaseResult {
  readonly released: boolean
  /**
   * `released`: AIMD applied; `stale`: the lease had expired in Redis and changed nothing; `duplicate`: released
   * before; `unavailable`: Redis did not take the release, so the lease expires within its TTL.
   */
  readonly reason: "released" | "stale" | "duplicate" | "unavailable"
  /** The shared limit after the release, when Redis answered. */
  readonly limit?: number | undefined
}

export interface SharedAdmissionShape {
  readonly workerId: string
  readonly config: SharedAdmissionConfig
  /**
   * Waits for one shared lease of `resource` under the AIMD parameters `aimd`. The wait is interruptible and an
   * interrupted wait leaves nothing held; a returned lease must be `release`d (do it in an uninterruptible region,
   * as `withLease` does).
   */
  readonly acquire: (
    resource: RequestResourceKey,
    aimd: AimdParams
  ) => Effect.Effect<SharedLease, SharedAdmissionUnavailable | SharedAdmissionShutdown>
  /** Releases exactly once (uninterruptible; never fails). */
  readonly release: (lease: SharedLease, outcome: ReleaseOutcome) => Effect.Effect<SharedReleaseResult>
  /** Fails when the lease is lost (not renewed in time, or reaped); never succeeds. */
  readonly lost: (lease: SharedLease) => Effect.Effect<never, SharedAdmissionLeaseLost>
  /** The resource's shared state as Redis holds it. */
  readonly state: (resource: RequestResourceKey) => Effect.Effect<SharedState, SharedAdmissionUnavailable>
  /** Leases this worker holds now. */
  readonly held: Effect.Effect<number>
}

const ACTIVE = 0
const RELEASED = 1

class LeaseImpl implements SharedLease {
  state: typeof ACTIVE | typeof RELEASED = ACTIVE
  readonly lost = Deferred.makeUnsafe<never, SharedAdmissionLeaseLost>()
  constructor(
    readonly member: string,
    readonly resource: RequestResourceKey,
    readonly admittedLimit: number,
    readonly pump: Pump,
    /** Local clock ms until which the lease is known renewed (TTL from before the call that granted or renewed it). */
    public renewedUntil: number
  ) {}
}

interface Waiter {
  readonly deferred: Deferred.Deferred<SharedLease, SharedAdmissionUnavailable | SharedAdmissionShutdown>
  cancelled: boolean
  lease: LeaseImpl | undefined
}

interface Pump {
  readonly resource: RequestResourceKey
  readonly keys: ResourceKeys
  aimd: AimdParams
  waiters: Array<Waiter>
  /**
   * The last ask got fewer leases than wanted (the limit or this worker's share is full, or a cooldown runs): a new
   * waiter then does not ask again by itself — a wake-up, the cooldown's end or the poll interval does.
   */
  full: boolean
  /** Coalescing wake-up: a new waiter, a release here or anywhere (pub/sub). */
  readonly signal: Queue.Queue<void>
}

const admittedOf = (member: string): number => Number(member.slice(member.lastIndexOf("|") + 1))

export const make = Effect.fnUntraced(function*(input: SharedAdmissionConfigInput) {
  const config = yield* decodeSharedConfig(input)
  const redis = yield* Redis.Redis
  const scope = yield* Effect.scope
  const workerId = config.workerId ??
    `${hostname()}:${process.pid}:${(yield* Random.nextIntBetween(0, 2 ** 31)).toString(36)}`
  const ttlMs = Math.round(config.leaseTtlSeconds * 1000)
  const heartbeatMs = Math.round((config.heartbeatSeconds ?? config.leaseTtlSeconds / 3) * 1000)
  const pollMs = Math.max(1, Math.round(config.pollSeconds * 1000))
  const waitingMs = Math.max(1, Math.round(config.waitingTtlSeconds * 1000))
  const store: LeaseStore = makeLeaseStore(redis, {
    keyPrefix: config.keyPrefix,
    commandTimeoutMs: Math.round(config.commandTimeoutSeconds * 1000)
  })

  const pumps = new Map<string, Pump>()
  const active = new Set<LeaseImpl>()
  let shutdown = false

  const lose = (lease: LeaseImpl) => {
    active.delete(lease)
    Deferred.doneUnsafe(
      lease.lost,
      Exit.fail(new SharedAdmissionLeaseLost({ resource: lease.resource, lease: lease.member }))
    )
  }

  const release = (lease: SharedLease, outcome: ReleaseOutcome): Effect.Effect<SharedReleaseResult> =>
    Effect.uninterruptible(Effect.suspend(() => {
      const impl = lease as LeaseImpl
      if (!(impl instanceof LeaseImpl) || impl.state !== ACTIVE) {
        return Effect.succeed<SharedReleaseResult>({ released: false, reason: "duplicate" })
      }
      impl.state = RELEASED
      // From here nobody renews it: if Redis does not take the release, the lease expires within the TTL.
      active.delete(impl)
      const pump = impl.pump
      return store.release(pump.resource, impl.member, outcome, pump.aimd).pipe(
        Effect.retry({ schedule: Schedule.exponential(20), times: 2 }),
        Effect.map((reply): SharedReleaseResult => {
          // The table wakes other workers by message; this one learns it from the reply. When nobody waits there,
          // local waiters that have not asked yet may take the slot.
          if (reply.woken.length === 0 || reply.woken.includes(workerId)) Queue.offerUnsafe(pump.signal, undefined)
          return reply.released
            ? { released: true, reason: "released", limit: reply.limit }
            : { released: false, reason: "stale", limit: reply.limit }
        }),
        Effect.catch(() => {
          Queue.offerUnsafe(pump.signal, undefined)
          return Effect.succeed<SharedReleaseResult>({ released: false, reason: "unavailable" })
        })
      )
    }))

  /** Hands granted leases to the waiters in arrival order; a lease nobody waits for any more goes straight back. */
  const handOut = (pump: Pump, granted: ReadonlyArray<string>, renewedUntil: number) => {
    const surplus: Array<LeaseImpl> = []
    for (const member of granted) {
      const lease = new LeaseImpl(member, pump.resource, admittedOf(member), pump, renewedUntil)
      active.add(lease)
      let waiter = pump.waiters.shift()
      while (waiter !== undefined && waiter.cancelled) waiter = pump.waiters.shift()
      if (waiter === undefined) {
        surplus.push(lease)
        continue
      }
      waiter.lease = lease
      Deferred.doneUnsafe(waiter.deferred, Exit.succeed(lease))
    }
    return surplus
  }

  const failWaiters = (pump: Pump, error: SharedAdmissionUnavailable | SharedAdmissionShutdown) => {
    const waiters = pump.waiters
    pump.waiters = []
    for (const waiter of waiters) if (!waiter.cancelled) Deferred.doneUnsafe(waiter.deferred, Exit.fail(error))
  }

  const liveWaiters = (pump: Pump): number => {
    pump.waiters = pump.waiters.filter((waiter) => !waiter.cancelled)
    return pump.waiters.length
  }

  const runPump = (pump: Pump): Effect.Effect<never> =>
    Effect.forever(Effect.gen(function*() {
      const want = liveWaiters(pump)
      if (want === 0) {
        pump.full = false
        yield* Queue.take(pump.signal)
        return
      }
      const sentAt = yield* Clock.currentTimeMillis
      const reply = yield* Effect.result(store.acquire(pump.resource, workerId, want, ttlMs, pump.aimd, waitingMs))
      if (reply._tag === "Failure") {
        // Fail closed: every waiter learns Redis is unreachable; nothing is admitted locally instead.
        failWaiters(pump, reply.failure)
        return
      }
      const grant = reply.success
      pump.full = grant.granted.length < want
      const surplus = handOut(pump, grant.granted, sentAt + ttlMs)
      for (const lease of surplus) yield* release(lease, { kind: "local_cancelled" })
      if (liveWaiters(pump) > 0) {
        yield* Effect.timeoutOption(Queue.take(pump.signal), grant.waitMs > 0 ? Math.min(grant.waitMs, ttlMs) : pollMs)
      }
    }))

  const pumpOf = (resource: RequestResourceKey, aimd: AimdParams): Effect.Effect<Pump> =>
    Effect.suspend(() => {
      const found = pumps.get(requestResourceLabel(resource))
      if (found !== undefined) {
        found.aimd = aimd
        return Effect.succeed(found)
      }
      return Effect.flatMap(Queue.dropping<void>(1), (signal) => {
        // Another fiber may have made it meanwhile.
        const label = requestResourceLabel(resource)
        const raced = pumps.get(label)
        if (raced !== undefined) return Effect.succeed(raced)
        const pump: Pump = { resource, keys: store.keys(resource), aimd, waiters: [], full: false, signal }
        pumps.set(label, pump)
        // Releases anywhere wake the pump; if the subscription fails, polling still serves the waiters.
        const listen = Effect.scoped(Effect.gen(function*() {
          const messages = yield* redis.subscribe(`${pump.keys.wake}${workerId}`)
          return yield* Effect.forever(Effect.andThen(Queue.take(messages), Queue.offer(signal, undefined)))
        })).pipe(Effect.ignore)
        return Effect.as(Effect.andThen(Effect.forkIn(listen, scope), Effect.forkIn(runPump(pump), scope)), pump)
      })
    })

  const acquire = (
    resource: RequestResourceKey,
    aimd: AimdParams
  ): Effect.Effect<SharedLease, SharedAdmissionUnavailable | SharedAdmissionShutdown> =>
    Effect.uninterruptibleMask((restore) =>
      Effect.gen(function*() {
        if (shutdown) return yield* new SharedAdmissionShutdown({ resource })
        const pump = yield* pumpOf(resource, aimd)
        const waiter: Waiter = { deferred: Deferred.makeUnsafe(), cancelled: false, lease: undefined }
        pump.waiters.push(waiter)
        // While the table is known full, asking again at every new waiter would only cost calls.
        if (!pump.full) Queue.offerUnsafe(pump.signal, undefined)
        return yield* restore(Effect.interruptible(Deferred.await(waiter.deferred))).pipe(
          Effect.onInterrupt(() =>
            Effect.suspend(() => {
              waiter.cancelled = true
              // Granted between the hand-out and this fiber's resume: give it back.
              return waiter.lease === undefined ? Effect.void : release(waiter.lease, { kind: "local_cancelled" })
            })
          )
        )
      })
    )

  const heartbeat = Effect.gen(function*() {
    const now = yield* Clock.currentTimeMillis
    if (active.size === 0) return
    const byPump = new Map<Pump, Array<LeaseImpl>>()
    for (const lease of active) {
      const list = byPump.get(lease.pump)
      if (list === undefined) byPump.set(lease.pump, [lease])
      else list.push(lease)
    }
    const sent = [...byPump.values()].flat()
    const reply = yield* Effect.result(
      store.heartbeat(
        ttlMs,
        [...byPump].map(([pump, leases]) => ({ keys: pump.keys, members: leases.map((l) => l.member) }))
      )
    )
    if (reply._tag === "Success") {
      const lost = new Set(reply.success)
      for (const lease of sent) {
        if (lost.has(lease.member)) {
          if (lease.state === ACTIVE) lose(lease)
        } else if (lease.renewedUntil < now + ttlMs) lease.renewedUntil = now + ttlMs
      }
      return
    }
    // Redis did not answer: a lease whose TTL runs out before the next heartbeat may already be someone else's.
    for (const lease of sent) if (lease.state === ACTIVE && lease.renewedUntil - heartbeatMs <= now) lose(lease)
  })

  yield* Effect.forkIn(Effect.repeat(heartbeat, Schedule.spaced(heartbeatMs)), scope)

  yield* Effect.addFinalizer(() =>
    Effect.suspend(() => {
      shutdown = true
      for (const pump of pumps.values()) {
        const error = new SharedAdmissionShutdown({ resource: pump.resource })
        failWaiters(pump, error)
      }
      // Leases still held when the worker stops go back now rather than after the TTL.
      return Effect.forEach([...active], (lease) => release(lease, { kind: "local_cancelled" }), { discard: true })
    })
  )

  const service: SharedAdmissionShape = {
    workerId,
    config,
    acquire,
    release,
    lost: (lease) => Deferred.await((lease as LeaseImpl).lost),
    state: store.state,
    held: Effect.sync(() => active.size)
  }
  return service
})

export class SharedAdmission extends Context.Service<SharedAdmission, SharedAdmissionShape>()(
  "@sluice/request-admission-redis/SharedAdmission"
) {
  /** Shared admission over the `Redis` in context (e.g. `NodeRedis.layer`); it stops when the layer's scope closes. */
  static layer(
    config: SharedAdmissionConfigInput = {}
  ): Layer.Layer<SharedAdmission, SharedAdmissionConfigError, Redis.Redis> {
    return Layer.effect(SharedAdmission, make(config))
  }
}
