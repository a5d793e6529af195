/**
 * Shared admission as workers use it: pumps, heartbeats, several workers on one Redis, interruption, lost leases
 * and Redis going away — on a private `redis-server`, with live time (Redis's clock runs for real).
 */
import { NodeRedis } from "@effect/platform-node"
import { assert, describe, it, layer } from "@effect/vitest"
import { requestResourceKey } from "@sluice/scheduling-resources"
import { Effect, Exit, Fiber, Layer, Scope } from "effect"
import * as Redis from "effect/persistence/Redis"
import {
  type AimdParams,
  makeSharedAdmission,
  makeSharedRequestAdmission,
  type SharedAdmissionConfigInput
} from "../src/index.js"
import { redisClient, RedisServer, startRedisServer } from "./redisServer.js"

const resource = requestResourceKey("p", "m", "chat")
let counter = 0
const prefix = () => `s${++counter}:`

const aimd = (max: number): AimdParams => ({
  max,
  initial: max,
  decreaseFactor: 0.75,
  additiveIncreaseStep: 1,
  successesUntilIncrease: 25,
  cooldownMs: 2000,
  decreaseToInFlight: true,
  ceilingProbeBackoff: true
})

const fast = (keyPrefix: string, workerId: string, extra: SharedAdmissionConfigInput = {}) => ({
  keyPrefix,
  workerId,
  pollSeconds: 0.02,
  ...extra
})

const TestLayer = redisClient.pipe(Layer.provideMerge(RedisServer.layer))

layer(TestLayer, { timeout: 60_000, excludeTestServices: true })("shared admission", (it) => {
  describe("several workers on one table", () => {
    it.effect("never more than the shared limit in flight over all workers, and each worker gets its share", () =>
      Effect.gen(function*() {
        const keyPrefix = prefix()
        const workers = yield* Effect.forEach(["w1", "w2", "w3"], (id) => makeSharedAdmission(fast(keyPrefix, id)))
        let inFlight = 0
        let peak = 0
        const served = [0, 0, 0]
        const call = (w: number) =>
          Effect.uninterruptibleMask((restore) =>
            Effect.flatMap(workers[w]!.acquire(resource, aimd(4)), (lease) =>
              restore(Effect.gen(function*() {
                inFlight++
                peak = Math.max(peak, inFlight)
                yield* Effect.sleep(15)
                inFlight--
                served[w]!++
              })).pipe(Effect.ensuring(workers[w]!.release(lease, { kind: "success" }))))
          )
        yield* Effect.forEach(
          [0, 1, 2],
          (w) => Effect.forEach(Array.from({ length: 30 }, () => w), call, { concurrency: 10 }),
          {
            concurrency: "unbounded"
          }
        )
        assert.isAtMost(peak, 4)
        assert.strictEqual(peak, 4)
        assert.deepStrictEqual(served, [30, 30, 30])
        const state = yield* workers[0]!.state(resource)
        assert.strictEqual(state.inFlight, 0)
        assert.deepStrictEqual(state.holders, {})
      }))
  })

  describe("no lost release", () => {
    it.effect("interrupting a call holding both leases releases both before the interruption returns", () =>
      Effect.gen(function*() {
        const admission = yield* makeSharedRequestAdmission(
          { models: [{ provider: "p", model: "m", maxParallelRequests: 2 }], slowStart: false },
          fast(prefix(), "w")
        )
        const holders = yield* Effect.forEach(
          [1, 2],
          () => Effect.forkChild(admission.withLease({ resource }, () => Effect.never), { startImmediately: true })
        )
        while ((yield* admission.shared.state(resource)).inFlight < 2) yield* Effect.sleep(5)
        yield* Fiber.interruptAll(holders)
        const state = yield* admission.shared.state(resource)
        assert.strictEqual(state.inFlight, 0)
        assert.deepStrictEqual(state.holders, {})
        assert.strictEqual(yield* admission.shared.held, 0)
        assert.strictEqual((yield* admission.local.inspect).activeLeases, 0)
      }))

    it.effect("interrupted waiters keep nothing, even a lease granted while they were being interrupted", () =>
      Effect.gen(function*() {
        const admission = yield* makeSharedRequestAdmission(
          { models: [{ provider: "p", model: "m", maxParallelRequests: 2 }], slowStart: false },
          fast(prefix(), "w")
        )
        const holders = yield* Effect.forEach(
          [1, 2],
          () => Effect.forkChild(admission.withLease({ resource }, () => Effect.never), { startImmediately: true })
        )
        const queued = yield* Effect.forEach(
          [1, 2, 3],
          () => Effect.forkChild(admission.withLease({ resource }, () => Effect.never), { startImmediately: true })
        )
        while ((yield* admission.shared.state(resource)).inFlight < 2) yield* Effect.sleep(5)
        yield* Fiber.interruptAll(holders)
        // The waiters get the freed slots; interrupt them too, some while the pump is handing them a lease.
        yield* Effect.sleep(3)
        yield* Fiber.interruptAll(queued)
        // A grant still on its way when its waiter left goes straight back.
        let state = yield* admission.shared.state(resource)
        for (let i = 0; i < 100 && state.inFlight > 0; i++) {
          yield* Effect.sleep(10)
          state = yield* admission.shared.state(resource)
        }
        assert.strictEqual(state.inFlight, 0)
        assert.deepStrictEqual(state.holders, {})
        assert.strictEqual(yield* admission.shared.held, 0)
        assert.strictEqual((yield* admission.local.inspect).activeLeases, 0)
      }))

    it.effect("random interruptions of many calls leave no lease anywhere", () =>
      Effect.gen(function*() {
        const admission = yield* makeSharedRequestAdmission(
          { models: [{ provider: "p", model: "m", maxParallelRequests: 3 }], slowStart: false },
          fast(prefix(), "w")
        )
        const fibers = yield* Effect.forEach(Array.from({ length: 40 }, (_, i) => i), (i) =>
          Effect.forkChild(
            admission.withLease({ resource }, (lease) =>
              i % 3 === 0
                ? admission.release(lease, { kind: "success" })
                : Effect.sleep(1 + (i % 7))),
            { startImmediately: true }
          ))
        for (let i = 0; i < fibers.length; i += 2) {
          yield* Effect.sleep(i % 5)
          yield* Fiber.interrupt(fibers[i]!)
        }
        yield* Fiber.awaitAll(fibers)
        let state = yield* admission.shared.state(resource)
        for (let i = 0; i < 100 && state.inFlight > 0; i++) {
          yield* Effect.sleep(10)
          state = yield* admission.shared.state(resource)
        }
        assert.strictEqual(state.inFlight, 0)
        assert.deepStrictEqual(state.holders, {})
        assert.strictEqual((yield* admission.local.inspect).activeLeases, 0)
      }))
  })

  describe("lost leases", () => {
    it.effect("a lease the table no longer has aborts the call that holds it", () =>
      Effect.gen(function*() {
        const redis = yield* Redis.Redis
        const admission = yield* makeSharedRequestAdmission(
          { models: [{ provider: "p", model: "m", maxParallelRequests: 2 }], slowStart: false },
          fast(prefix(), "w", { leaseTtlSeconds: 3, heartbeatSeconds: 0.05 })
        )
        const fiber = yield* Effect.forkChild(admission.withLease({ resource }, () => Effect.never), {
          startImmediately: true
        })
        while ((yield* admission.shared.state(resource)).inFlight < 1) yield* Effect.sleep(5)
        // Another party (an operator, a reaper after a partition) took the slot away.
        const leasesKey = `${admission.shared.config.keyPrefix}p/m/chat:leases`
        const members = yield* redis.send<Array<string>>("ZRANGE", leasesKey, "0", "-1")
        yield* redis.send("ZREM", leasesKey, members[0]!)
        const exit = yield* Fiber.await(fiber)
        assert.isTrue(Exit.isFailure(exit))
        assert.include(String(Exit.isFailure(exit) ? exit.cause : ""), "SharedAdmissionLeaseLost")
        assert.strictEqual((yield* admission.local.inspect).activeLeases, 0)
      }))
  })
})

describe("Redis unreachable", () => {
  it.live(
    "admission fails closed with SharedAdmissionUnavailable, and a release in flight is not lost",
    () =>
      Effect.gen(function*() {
        const server = yield* startRedisServer
        const scope = yield* Scope.make()
        const context = yield* Layer.buildWithScope(
          NodeRedis.layer({ socket: { path: server.socket, tls: false } }),
          scope
        ).pipe(Effect.orDie)
        const admission = yield* makeSharedAdmission(fast(prefix(), "w", { commandTimeoutSeconds: 0.3 })).pipe(
          Effect.provideContext(context),
          Scope.provide(scope)
        )
        const held = yield* admission.acquire(resource, aimd(2))
        yield* server.stop
        const denied = yield* Effect.flip(admission.acquire(resource, aimd(2)))
        assert.strictEqual(denied._tag, "SharedAdmissionUnavailable")
        const released = yield* admission.release(held, { kind: "success" })
        assert.strictEqual(released.reason, "unavailable")
        assert.strictEqual(yield* admission.held, 0)
        yield* Effect.forkDetach(Scope.close(scope, Exit.void))
      }),
    60_000
  )

  it.live(
    "a worker that cannot renew its leases before their TTL runs out aborts the calls holding them",
    () =>
      Effect.gen(function*() {
        const server = yield* startRedisServer
        const scope = yield* Scope.make()
        const context = yield* Layer.buildWithScope(
          NodeRedis.layer({ socket: { path: server.socket, tls: false } }),
          scope
        ).pipe(Effect.orDie)
        const admission = yield* makeSharedRequestAdmission(
          { models: [{ provider: "p", model: "m", maxParallelRequests: 2 }], slowStart: false },
          fast(prefix(), "w", { leaseTtlSeconds: 0.6, heartbeatSeconds: 0.1, commandTimeoutSeconds: 0.1 })
        ).pipe(Effect.provideContext(context), Scope.provide(scope))
        const fiber = yield* Effect.forkChild(admission.withLease({ resource }, () => Effect.never), {
          startImmediately: true
        })
        while ((yield* admission.shared.held) < 1) yield* Effect.sleep(5)
        yield* server.stop
        // The heartbeats fail; before the lease can expire in Redis, the call holding it is aborted.
        const exit = yield* Fiber.await(fiber)
        assert.include(String(Exit.isFailure(exit) ? exit.cause : ""), "SharedAdmissionLeaseLost")
        assert.strictEqual((yield* admission.local.inspect).activeLeases, 0)
        assert.strictEqual(yield* admission.shared.held, 0)
        yield* Effect.forkDetach(Scope.close(scope, Exit.void))
      }),
    60_000
  )
})
