import { afterEach, assert, describe, it, vi } from "@effect/vitest"
import { Clock, Effect, Exit, Fiber, Scope, Stream } from "effect"
import { TestClock } from "effect/testing"
import { Outbox } from "../src/internal/outbox/Outbox.js"
import { ReleaseOutcome, RequestAdmission } from "../src/index.js"
import { chat, controller, embedding, forkNow, image, leaks, recordEvents, resource, settle } from "./helpers.js"

const pressure = (r = chat) => RequestAdmission.use((a) => a.pressure(r))

describe("leases", () => {
  it.effect("tryAcquire grants a lease and release returns its permit", () =>
    Effect.gen(function*() {
      const admission = yield* RequestAdmission
      const lease = yield* admission.tryAcquire({ resource: chat })
      assert.strictEqual((yield* pressure()).inFlight, 1)
      const result = yield* admission.release(lease, ReleaseOutcome.success)
      assert.deepStrictEqual(result, { released: true, reason: "released" })
      assert.strictEqual((yield* pressure()).inFlight, 0)
      assert.strictEqual((yield* pressure()).lastOutcome, "success")
    }).pipe(Effect.provide(controller(1))))

  it.effect("the provider/model static cap spans domains", () =>
    Effect.gen(function*() {
      const admission = yield* RequestAdmission
      yield* admission.tryAcquire({ resource: chat })
      const denied = yield* Effect.flip(admission.tryAcquire({ resource: embedding }))
      assert.strictEqual(denied._tag, "RequestAdmissionNoCapacity")
      assert.strictEqual(denied._tag === "RequestAdmissionNoCapacity" && denied.limit, "static_cap")
      assert.strictEqual((yield* admission.providerModelPressure(chat)).inFlight, 1)
    }).pipe(Effect.provide(controller(1))))

  it.effect("a duplicate release reports duplicate and changes no count", () =>
    Effect.gen(function*() {
      const admission = yield* RequestAdmission
      const lease = yield* admission.tryAcquire({ resource: chat })
      yield* admission.release(lease, ReleaseOutcome.success)
      const again = yield* admission.release(lease, ReleaseOutcome.rateLimited(5))
      assert.deepStrictEqual(again, { released: false, reason: "duplicate" })
      const p = yield* pressure()
      assert.strictEqual(p.inFlight, 0)
      assert.strictEqual(p.currentLimit, 2, "the duplicate 429 did not decrease")
      assert.strictEqual(p.blockedUntilMillis, null)
      assert.strictEqual((yield* admission.inspect).duplicateReleases, 1)
    }).pipe(Effect.provide(controller())))

  it.effect("a lease of another controller is refused and the genuine lease stays releasable", () =>
    Effect.gen(function*() {
      const other = yield* Effect.provide(
        Effect.gen(function*() {
          return yield* RequestAdmission.use((a) => a.tryAcquire({ resource: chat }))
        }),
        controller()
      )
      const admission = yield* RequestAdmission
      const mine = yield* admission.tryAcquire({ resource: chat })
      assert.deepStrictEqual(yield* admission.release(other, ReleaseOutcome.success), {
        released: false,
        reason: "foreign_lease"
      })
      assert.strictEqual((yield* pressure()).inFlight, 1)
      assert.isTrue((yield* admission.release(mine, ReleaseOutcome.success)).released)
      assert.strictEqual((yield* pressure()).inFlight, 0)
    }).pipe(Effect.provide(controller())))

  it.effect("a lease released long ago still reports duplicate (no bounded history)", () =>
    Effect.gen(function*() {
      const admission = yield* RequestAdmission
      const first = yield* admission.tryAcquire({ resource: chat })
      yield* admission.release(first, ReleaseOutcome.success)
      for (let i = 0; i < 10_000; i++) {
        yield* admission.withLease({ resource: chat }, () => Effect.void)
      }
      assert.strictEqual((yield* admission.release(first, ReleaseOutcome.success)).reason, "duplicate")
    }).pipe(Effect.provide(controller())))

  it.effect("closing the scope without a release releases the lease as local_cancelled", () =>
    Effect.gen(function*() {
      const admission = yield* RequestAdmission
      const scope = yield* Scope.make()
      const lease = yield* admission.acquire({ resource: chat }).pipe(Scope.provide(scope))
      assert.strictEqual((yield* pressure()).inFlight, 1)
      yield* Scope.close(scope, Exit.void)
      assert.strictEqual((yield* pressure()).inFlight, 0)
      assert.strictEqual((yield* pressure()).lastOutcome, "local_cancelled")
      assert.strictEqual((yield* admission.release(lease, ReleaseOutcome.success)).reason, "duplicate")
    }).pipe(Effect.provide(controller())))

  it.effect("an explicit release before the scope closes is not repeated by the scope", () =>
    Effect.gen(function*() {
      const admission = yield* RequestAdmission
      yield* Effect.scoped(
        Effect.gen(function*() {
          const lease = yield* admission.acquire({ resource: chat })
          yield* admission.release(lease, ReleaseOutcome.success)
        })
      )
      const view = yield* admission.inspect
      assert.strictEqual(view.duplicateReleases, 0)
      assert.strictEqual((yield* pressure()).lastOutcome, "success")
    }).pipe(Effect.provide(controller())))

  it.effect("the lease released event records the release outcome", () =>
    Effect.gen(function*() {
      const admission = yield* RequestAdmission
      const events = yield* recordEvents
      const lease = yield* admission.tryAcquire({ resource: chat })
      yield* admission.release(lease, ReleaseOutcome.providerFailure(500))
      yield* settle
      const released = events.seen.filter((e) => e._tag === "request_lease_released")
      assert.strictEqual(released.at(-1)?.outcome, "provider_failure")
      assert.strictEqual(released.at(-1)?.status, 500)
    }).pipe(Effect.provide(controller())))
})

describe("AIMD", () => {
  it.effect("a rate limit decreases the limit and closes the resource until Retry-After", () =>
    Effect.gen(function*() {
      const admission = yield* RequestAdmission
      const lease = yield* admission.tryAcquire({ resource: chat })
      yield* admission.release(lease, ReleaseOutcome.rateLimited(1))
      const denied = yield* Effect.flip(admission.tryAcquire({ resource: chat }))
      assert.strictEqual(denied._tag, "RequestAdmissionCooldown")
      assert.strictEqual(denied._tag === "RequestAdmissionCooldown" && denied.availableAtMillis, 1000)
      const p = yield* pressure()
      assert.strictEqual(p.currentLimit, 2)
      assert.strictEqual(p.cooldownRemainingMs, 1000)
      yield* TestClock.adjust("1 second")
      assert.isTrue((yield* admission.tryAcquire({ resource: chat })).id > 0)
    }).pipe(Effect.provide(controller(4, { decreaseFactor: 0.5, cooldownSeconds: 10, decreaseToInFlight: false }))))

  it.effect("a rate limit without Retry-After cools down for cooldownSeconds", () =>
    Effect.gen(function*() {
      const admission = yield* RequestAdmission
      const lease = yield* admission.tryAcquire({ resource: chat })
      yield* admission.release(lease, ReleaseOutcome.rateLimited(0))
      assert.strictEqual((yield* pressure()).cooldownRemainingMs, 2000)
    }).pipe(Effect.provide(controller(4))))

  it.effect("subscribers receive rate-limit feedback events", () =>
    Effect.gen(function*() {
      const admission = yield* RequestAdmission
      const events = yield* recordEvents
      const lease = yield* admission.tryAcquire({ resource: chat })
      yield* admission.release(lease, ReleaseOutcome.rateLimited(1))
      yield* settle
      const kinds = events.tags()
      assert.includeMembers(kinds, ["request_limit_decreased", "request_rate_limited", "request_lease_released"])
      assert.isBelow(kinds.indexOf("request_limit_decreased"), kinds.indexOf("request_rate_limited"))
      assert.isBelow(kinds.indexOf("request_rate_limited"), kinds.indexOf("request_lease_released"))
    }).pipe(Effect.provide(controller(4))))

  it.effect("a burst of 429s decreases once per cascade", () =>
    Effect.gen(function*() {
      const admission = yield* RequestAdmission
      const leases = []
      for (let i = 0; i < 8; i++) leases.push(yield* admission.tryAcquire({ resource: chat }))
      for (const lease of leases) yield* admission.release(lease, ReleaseOutcome.rateLimited(1))
      const p = yield* pressure()
      assert.strictEqual(p.currentLimit, 4)
      assert.strictEqual(p.rateLimitCeiling, 8)
      assert.strictEqual(p.consecutiveRateLimits, 8)
    }).pipe(Effect.provide(controller(8, { decreaseFactor: 0.5, decreaseToInFlight: false, slowStart: false }))))

  it.effect("a fresh 429 after a burst decreases again", () =>
    Effect.gen(function*() {
      const admission = yield* RequestAdmission
      const leases = []
      for (let i = 0; i < 8; i++) leases.push(yield* admission.tryAcquire({ resource: chat }))
      for (const lease of leases) yield* admission.release(lease, ReleaseOutcome.rateLimited(1))
      yield* TestClock.adjust("1 second")
      const fresh = yield* admission.tryAcquire({ resource: chat })
      assert.strictEqual(fresh.admittedLimit, 4)
      yield* admission.release(fresh, ReleaseOutcome.rateLimited(1))
      const p = yield* pressure()
      assert.strictEqual(p.currentLimit, 2)
      assert.strictEqual(p.rateLimitCeiling, 4, "the ceiling follows the latest cascade")
      assert.strictEqual(p.consecutiveRateLimits, 9)
    }).pipe(Effect.provide(controller(8, { decreaseFactor: 0.5, decreaseToInFlight: false, slowStart: false }))))

  it.effect("the decrease floors at 1 and follows 8→6→4→3→2→1 with factor 0.75", () =>
    Effect.gen(function*() {
      const admission = yield* RequestAdmission
      const seen = [(yield* pressure()).currentLimit]
      for (let i = 0; i < 6; i++) {
        const lease = yield* admission.tryAcquire({ resource: chat })
        yield* admission.release(lease, ReleaseOutcome.rateLimited(1))
        seen.push((yield* pressure()).currentLimit)
        yield* TestClock.adjust("1 second")
      }
      assert.deepStrictEqual(seen, [8, 6, 4, 3, 2, 1, 1])
    }).pipe(Effect.provide(controller(8, { decreaseToInFlight: false }))))

  it.effect("a later 429 never shortens an active cooldown", () =>
    Effect.gen(function*() {
      const admission = yield* RequestAdmission
      const a = yield* admission.tryAcquire({ resource: chat })
      const b = yield* admission.tryAcquire({ resource: chat })
      yield* admission.release(a, ReleaseOutcome.rateLimited(30))
      yield* admission.release(b, ReleaseOutcome.rateLimited(0.5))
      assert.strictEqual((yield* pressure()).blockedUntilMillis, 30_000)
    }).pipe(Effect.provide(controller(4))))

  it.effect("successes outside cooldown raise the limit additively", () =>
    Effect.gen(function*() {
      const admission = yield* RequestAdmission
      const events = yield* recordEvents
      assert.strictEqual((yield* pressure()).currentLimit, 1)
      const lease = yield* admission.tryAcquire({ resource: chat })
      yield* admission.release(lease, ReleaseOutcome.success)
      assert.strictEqual((yield* pressure()).currentLimit, 2)
      yield* settle
      assert.include(events.tags(), "request_limit_increased")
      assert.notInclude(events.tags(), "request_fully_recovered", "no recovery without a rate limit")
    }).pipe(Effect.provide(controller(3, { initialLimits: { "nvidia/nemotron/chat": 1 }, successesUntilIncrease: 1 }))))

  it.effect("25 successes per step by default, and none count during a cooldown", () =>
    Effect.gen(function*() {
      const admission = yield* RequestAdmission
      const once = (outcome: ReleaseOutcome) =>
        Effect.flatMap(admission.tryAcquire({ resource: chat }), (lease) => admission.release(lease, outcome))
      yield* once(ReleaseOutcome.rateLimited(1)) // 4 → 3, cooling for 1 s
      for (let i = 0; i < 30; i++) {
        yield* admission.withLease({ resource: embedding }, () => Effect.void)
      }
      yield* TestClock.adjust("1 second")
      for (let i = 0; i < 24; i++) yield* once(ReleaseOutcome.success)
      assert.strictEqual((yield* pressure()).currentLimit, 3)
      yield* once(ReleaseOutcome.success)
      assert.strictEqual((yield* pressure()).currentLimit, 4)
    }).pipe(Effect.provide(controller(4, { decreaseToInFlight: false }))))

  it.effect("recovery events: soft ceiling once, then fully recovered at the effective max", () =>
    Effect.gen(function*() {
      const admission = yield* RequestAdmission
      const events = yield* recordEvents
      const once = (outcome: ReleaseOutcome) =>
        Effect.flatMap(admission.tryAcquire({ resource: chat }), (lease) => admission.release(lease, outcome))
      // limit 2 (initial), 429 → 1 with ceiling 2; then climb 2, 3, 4
      yield* once(ReleaseOutcome.rateLimited(1))
      yield* TestClock.adjust("1 second")
      for (let i = 0; i < 3; i++) yield* once(ReleaseOutcome.success)
      yield* settle
      assert.strictEqual((yield* pressure()).currentLimit, 4)
      const kinds = events.tags()
      assert.strictEqual(kinds.filter((k) => k === "request_soft_ceiling_recovered").length, 1)
      assert.strictEqual(kinds.filter((k) => k === "request_fully_recovered").length, 1)
      assert.strictEqual(kinds.filter((k) => k === "request_limit_increased").length, 3)
    }).pipe(Effect.provide(controller(4, { initialLimits: { "nvidia/nemotron/chat": 2 }, successesUntilIncrease: 1 }))))

  it.effect("local outcomes never count as provider pressure", () =>
    Effect.gen(function*() {
      const admission = yield* RequestAdmission
      for (
        const outcome of [
          ReleaseOutcome.localCancelled,
          ReleaseOutcome.localTimeout,
          ReleaseOutcome.unexpectedException
        ]
      ) {
        const lease = yield* admission.tryAcquire({ resource: chat })
        yield* admission.release(lease, outcome)
      }
      const p = yield* pressure()
      assert.strictEqual(p.currentLimit, 4)
      assert.strictEqual(p.blockedUntilMillis, null)
      assert.strictEqual(p.consecutiveRateLimits, 0)
    }).pipe(Effect.provide(controller(4))))
})

describe("startup ramp", () => {
  const grabAll = Effect.gen(function*() {
    const admission = yield* RequestAdmission
    const scope = yield* Scope.make()
    let n = 0
    while (true) {
      const r = yield* Effect.result(admission.tryAcquire({ resource: chat }).pipe(Scope.provide(scope)))
      if (r._tag === "Failure") {
        assert.strictEqual(r.failure._tag, "RequestAdmissionNoCapacity")
        break
      }
      n++
    }
    yield* Scope.close(scope, Exit.void)
    return n
  })

  it.effect("starts at 1 and climbs linearly to the cap", () =>
    Effect.gen(function*() {
      assert.strictEqual(yield* grabAll, 1)
      assert.strictEqual((yield* pressure()).currentLimit, 1)
      yield* TestClock.adjust("5 seconds")
      assert.strictEqual(yield* grabAll, 2)
      yield* TestClock.adjust("5 seconds")
      assert.strictEqual(yield* grabAll, 4)
      assert.isFalse((yield* pressure()).rampActive)
    }).pipe(Effect.provide(controller(4, { startupRampSeconds: 10 }))))

  it.effect("a 429 aborts the ramp for good", () =>
    Effect.gen(function*() {
      const admission = yield* RequestAdmission
      const lease = yield* admission.tryAcquire({ resource: chat })
      yield* admission.release(lease, ReleaseOutcome.rateLimited(0.001))
      yield* TestClock.adjust("10 seconds")
      assert.strictEqual(yield* grabAll, 1)
      assert.strictEqual((yield* pressure()).currentLimit, 1)
    }).pipe(Effect.provide(controller(4, { startupRampSeconds: 10, decreaseFactor: 0.5 }))))

  it.effect("the ramp is brought up to date before a 429 aborts it", () =>
    Effect.gen(function*() {
      const admission = yield* RequestAdmission
      const lease = yield* admission.tryAcquire({ resource: chat })
      yield* TestClock.adjust("9900 millis")
      yield* admission.release(lease, ReleaseOutcome.rateLimited(1))
      // ramp value at 99% of cap 9 is 1 + floor(8 × 0.99) = 8; ×0.75 → 6 (the anchor cut from a stale 1)
      assert.strictEqual((yield* pressure()).currentLimit, 6)
    }).pipe(Effect.provide(controller(9, { startupRampSeconds: 10, decreaseToInFlight: false }))))

  it.effect("ramp steps admit queued waiters when they happen", () =>
    Effect.gen(function*() {
      const admission = yield* RequestAdmission
      const fibers = []
      for (let i = 0; i < 4; i++) {
        fibers.push(
          yield* forkNow(Effect.scoped(admission.acquire({ resource: chat }).pipe(Effect.andThen(Effect.never))))
        )
      }
      yield* settle
      assert.strictEqual((yield* pressure()).inFlight, 1)
      yield* TestClock.adjust("3334 millis")
      yield* settle
      assert.strictEqual((yield* pressure()).inFlight, 2)
      yield* TestClock.adjust("10 seconds")
      yield* settle
      assert.strictEqual((yield* pressure()).inFlight, 4)
      for (const f of fibers) yield* Fiber.interrupt(f)
      assert.deepStrictEqual(yield* leaks, { activeLeases: 0, waiters: 0 })
    }).pipe(Effect.provide(controller(4, { startupRampSeconds: 10 }))))
})

describe("static caps", () => {
  it.effect("aliases merge with the min rule; lowering clamps at once, raising lifts the ceiling", () =>
    Effect.gen(function*() {
      const admission = yield* RequestAdmission
      yield* admission.withLease({ resource: chat }, () => Effect.void) // create chat state at 8
      yield* admission.register({ provider: "nvidia", model: "nemotron", alias: "small", maxParallelRequests: 3 })
      assert.strictEqual((yield* pressure()).currentLimit, 3)
      assert.strictEqual((yield* admission.capacity(chat)).staticCap, 3)
      yield* admission.register({ provider: "nvidia", model: "nemotron", alias: "small", maxParallelRequests: 0 })
      assert.strictEqual((yield* pressure()).currentLimit, 1, "a cap below 1 counts as 1")
      yield* admission.register({ provider: "nvidia", model: "nemotron", alias: "small", maxParallelRequests: 6 })
      const p = yield* pressure()
      assert.strictEqual(p.effectiveMax, 6)
      assert.strictEqual(p.currentLimit, 1, "raising does not jump the adaptive limit")
      for (let i = 0; i < 5; i++) yield* admission.withLease({ resource: chat }, () => Effect.void)
      assert.strictEqual((yield* pressure()).currentLimit, 6, "additive increase climbs to the new ceiling")
      assert.deepStrictEqual((yield* admission.providerModelPressure(chat)).aliases, ["default", "small"])
    }).pipe(Effect.provide(controller(8, { successesUntilIncrease: 1, slowStart: false }))))

  it.effect("lowering the static cap below in-flight admits nothing until in-flight drops under it", () =>
    Effect.gen(function*() {
      const admission = yield* RequestAdmission
      const scope = yield* Scope.make()
      const held = []
      for (let i = 0; i < 4; i++) held.push(yield* admission.tryAcquire({ resource: chat }).pipe(Scope.provide(scope)))
      yield* admission.register({ provider: "nvidia", model: "nemotron", alias: "default", maxParallelRequests: 2 })
      yield* admission.release(held[0]!, ReleaseOutcome.success)
      yield* admission.release(held[1]!, ReleaseOutcome.success)
      assert.strictEqual(
        (yield* Effect.flip(admission.tryAcquire({ resource: embedding })))._tag,
        "RequestAdmissionNoCapacity"
      )
      yield* admission.release(held[2]!, ReleaseOutcome.success)
      assert.isTrue((yield* admission.tryAcquire({ resource: embedding })).id > 0)
      yield* Scope.close(scope, Exit.void)
    }).pipe(Effect.provide(controller(4))))

  it.effect("maxLimitClamps cap a domain below the static cap", () =>
    Effect.gen(function*() {
      const p = yield* pressure()
      assert.strictEqual(p.effectiveMax, 2)
      assert.strictEqual((yield* RequestAdmission.use((a) => a.capacity(chat))).limit, 2)
    }).pipe(Effect.provide(controller(8, { maxLimitClamps: { "nvidia/nemotron/chat": 2 } }))))
})

describe("queueing and timeouts", () => {
  it.effect("a queue-wait timeout fails with QueueTimeout after exactly the timeout", () =>
    Effect.gen(function*() {
      const admission = yield* RequestAdmission
      yield* admission.tryAcquire({ resource: chat })
      const fiber = yield* forkNow(Effect.scoped(admission.acquire({ resource: chat, queueWaitTimeoutSeconds: 0.01 })))
      yield* TestClock.adjust("9 millis")
      assert.isUndefined(fiber.pollUnsafe())
      yield* TestClock.adjust("1 millis")
      const exit = yield* Fiber.await(fiber)
      assert.isTrue(Exit.isFailure(exit))
      const error = yield* Effect.flip(Fiber.join(fiber))
      assert.strictEqual(error._tag, "RequestAdmissionQueueTimeout")
      assert.strictEqual(error._tag === "RequestAdmissionQueueTimeout" && error.waitedMs, 10)
      assert.strictEqual((yield* leaks).waiters, 0)
    }).pipe(Effect.provide(controller(1))))

  it.effect("a zero timeout is try-once: it fails at once when full and succeeds when free", () =>
    Effect.gen(function*() {
      const admission = yield* RequestAdmission
      const free = yield* admission.acquire({ resource: chat, queueWaitTimeoutSeconds: 0 })
      const error = yield* Effect.flip(admission.acquire({ resource: embedding, queueWaitTimeoutSeconds: 0 }))
      assert.strictEqual(error._tag, "RequestAdmissionQueueTimeout")
      assert.strictEqual(error._tag === "RequestAdmissionQueueTimeout" && error.waitedMs, 0)
      assert.strictEqual((yield* pressure(embedding)).waiters, 0)
      yield* admission.release(free, ReleaseOutcome.success)
    }).pipe(Effect.provide(controller(1))))

  it.effect("the controller default queue timeout applies when the item has none", () =>
    Effect.gen(function*() {
      const admission = yield* RequestAdmission
      yield* admission.tryAcquire({ resource: chat })
      const fiber = yield* forkNow(Effect.scoped(admission.acquire({ resource: chat })))
      yield* TestClock.adjust("2 seconds")
      assert.strictEqual((yield* Effect.flip(Fiber.join(fiber)))._tag, "RequestAdmissionQueueTimeout")
    }).pipe(Effect.provide(controller(1, { queueWaitTimeoutSeconds: 2 }))))

  it.effect("an unregistered provider/model fails with UnknownResource at once, never a timeout", () =>
    Effect.gen(function*() {
      const admission = yield* RequestAdmission
      const other = { provider: "other", model: "m", domain: "chat" as const }
      const error = yield* Effect.flip(admission.acquire({ resource: other, queueWaitTimeoutSeconds: 30 }))
      assert.strictEqual(error._tag, "RequestAdmissionUnknownResource")
      assert.strictEqual(
        (yield* Effect.flip(admission.tryAcquire({ resource: other })))._tag,
        "RequestAdmissionUnknownResource"
      )
      assert.strictEqual((yield* Effect.flip(admission.pressure(other)))._tag, "RequestAdmissionUnknownResource")
      assert.deepStrictEqual(yield* leaks, { activeLeases: 0, waiters: 0 })
    }).pipe(Effect.provide(controller(1))))

  it.effect("a release hands the lease to the queued waiter", () =>
    Effect.gen(function*() {
      const admission = yield* RequestAdmission
      const held = yield* admission.tryAcquire({ resource: chat })
      const fiber = yield* forkNow(Effect.scoped(Effect.map(admission.acquire({ resource: chat }), (l) => l.waitedMs)))
      yield* TestClock.adjust("1 second")
      assert.strictEqual((yield* pressure()).waiters, 1)
      yield* admission.release(held, ReleaseOutcome.success)
      assert.strictEqual(yield* Fiber.join(fiber), 1000)
      assert.deepStrictEqual(yield* leaks, { activeLeases: 0, waiters: 0 })
    }).pipe(Effect.provide(controller(1))))

  it.effect("an expired waiter is not handed a lease and the freed permit is not lost", () =>
    Effect.gen(function*() {
      const admission = yield* RequestAdmission
      const held = yield* admission.tryAcquire({ resource: chat })
      const fiber = yield* forkNow(
        Effect.scoped(admission.acquire({ resource: embedding, queueWaitTimeoutSeconds: 0.01 }))
      )
      yield* settle
      assert.strictEqual((yield* pressure(embedding)).waiters, 1)
      yield* TestClock.adjust("1 second")
      yield* admission.release(held, ReleaseOutcome.success)
      assert.strictEqual((yield* Effect.flip(Fiber.join(fiber)))._tag, "RequestAdmissionQueueTimeout")
      assert.deepStrictEqual(yield* leaks, { activeLeases: 0, waiters: 0 })
      assert.isTrue((yield* admission.tryAcquire({ resource: embedding })).id > 0)
    }).pipe(Effect.provide(controller(1))))

  it.effect("domains share the provider/model cap and are served in fair order", () =>
    Effect.gen(function*() {
      const admission = yield* RequestAdmission
      const started: Array<string> = []
      const job = (r: typeof chat) =>
        Effect.scoped(
          Effect.gen(function*() {
            yield* admission.acquire({ resource: r })
            started.push(r.domain)
            yield* Effect.sleep("1 second")
          })
        )
      const fibers = [yield* forkNow(job(chat)), yield* forkNow(job(embedding)), yield* forkNow(job(image))]
      yield* settle
      assert.deepStrictEqual(started, ["chat"])
      assert.strictEqual((yield* admission.providerModelPressure(chat)).waiters, 2)
      yield* TestClock.adjust("1 second")
      yield* settle
      assert.deepStrictEqual(started, ["chat", "embedding"])
      yield* TestClock.adjust("1 second")
      yield* settle
      assert.deepStrictEqual(started, ["chat", "embedding", "image"])
      yield* TestClock.adjust("1 second")
      yield* Fiber.joinAll(fibers)
      assert.strictEqual((yield* admission.providerModelPressure(chat)).inFlight, 0)
    }).pipe(Effect.provide(controller(1))))

  it.effect("equal-weight groups are served round-robin, FIFO inside a group", () =>
    Effect.gen(function*() {
      const admission = yield* RequestAdmission
      const held = yield* admission.tryAcquire({ resource: chat })
      const order: Array<string> = []
      const job = (group: string, id: string) =>
        Effect.scoped(
          Effect.gen(function*() {
            const lease = yield* admission.acquire({ resource: chat, group: { key: group, weight: 1 } })
            order.push(id)
            yield* admission.release(lease, ReleaseOutcome.success)
          })
        )
      const fibers = []
      for (const [g, id] of [["A", "A1"], ["A", "A2"], ["A", "A3"], ["B", "B1"], ["B", "B2"], ["C", "C1"]]) {
        fibers.push(yield* forkNow(job(g!, id!)))
      }
      yield* settle
      yield* admission.release(held, ReleaseOutcome.success)
      yield* Fiber.joinAll(fibers)
      assert.deepStrictEqual(order, ["A1", "B1", "C1", "A2", "B2", "A3"])
    }).pipe(Effect.provide(controller(1))))

  it.effect("weights 3 and 1 interleave as A B A A B A A A B", () =>
    Effect.gen(function*() {
      const admission = yield* RequestAdmission
      const held = yield* admission.tryAcquire({ resource: chat })
      const order: Array<string> = []
      const job = (group: string, weight: number, id: string) =>
        Effect.scoped(
          Effect.gen(function*() {
            const lease = yield* admission.acquire({ resource: chat, group: { key: group, weight } })
            order.push(id)
            yield* admission.release(lease, ReleaseOutcome.success)
          })
        )
      const fibers = []
      for (let i = 0; i < 6; i++) fibers.push(yield* forkNow(job("A", 3, `A${i}`)))
      for (let i = 0; i < 3; i++) fibers.push(yield* forkNow(job("B", 1, `B${i}`)))
      yield* settle
      yield* admission.release(held, ReleaseOutcome.success)
      yield* Fiber.joinAll(fibers)
      assert.deepStrictEqual(order, ["A0", "B0", "A1", "A2", "B1", "A3", "A4", "A5", "B2"])
    }).pipe(Effect.provide(controller(1))))

  it.effect("tryAcquire never jumps ahead of a queued waiter of the same provider/model", () =>
    Effect.gen(function*() {
      const admission = yield* RequestAdmission
      const held = yield* admission.tryAcquire({ resource: chat })
      const fiber = yield* forkNow(
        Effect.scoped(
          Effect.map(admission.acquire({ resource: embedding, queueWaitTimeoutSeconds: 2 }), (l) => l.resource.domain)
        )
      )
      yield* settle
      const denied = yield* Effect.flip(admission.tryAcquire({ resource: image }))
      assert.strictEqual(denied._tag, "RequestAdmissionNoCapacity")
      assert.strictEqual((yield* pressure(embedding)).waiters, 1)
      yield* admission.release(held, ReleaseOutcome.success)
      // the freed permit went to the waiter, not to a later try
      assert.strictEqual(
        (yield* Effect.flip(admission.tryAcquire({ resource: image })))._tag,
        "RequestAdmissionNoCapacity"
      )
      assert.strictEqual(yield* Fiber.join(fiber), "embedding")
    }).pipe(Effect.provide(controller(1))))

  it.effect("waiters of a cooling domain do not block another domain", () =>
    Effect.gen(function*() {
      const admission = yield* RequestAdmission
      const lease = yield* admission.tryAcquire({ resource: chat })
      yield* admission.release(lease, ReleaseOutcome.rateLimited(5))
      const fiber = yield* forkNow(Effect.scoped(admission.acquire({ resource: chat })))
      yield* settle
      assert.strictEqual((yield* pressure()).waiters, 1)
      assert.isTrue((yield* admission.tryAcquire({ resource: embedding })).id > 0)
      yield* TestClock.adjust("5 seconds")
      yield* Fiber.join(fiber)
    }).pipe(Effect.provide(controller(2))))

  it.effect("the cooldown end admits queued waiters exactly when the block ends", () =>
    Effect.gen(function*() {
      const admission = yield* RequestAdmission
      const lease = yield* admission.tryAcquire({ resource: chat })
      yield* admission.release(lease, ReleaseOutcome.rateLimited(3))
      const fiber = yield* forkNow(
        Effect.scoped(Effect.andThen(admission.acquire({ resource: chat }), Clock.currentTimeMillis))
      )
      yield* TestClock.adjust("2999 millis")
      yield* settle
      assert.isUndefined(fiber.pollUnsafe())
      yield* TestClock.adjust("1 millis")
      assert.strictEqual(yield* Fiber.join(fiber), 3000)
    }).pipe(Effect.provide(controller(2))))

  it.effect("pressure snapshots do not create state", () =>
    Effect.gen(function*() {
      const admission = yield* RequestAdmission
      const p = yield* admission.pressure(image)
      assert.strictEqual(p.currentLimit, 2)
      yield* admission.capacity(image)
      assert.strictEqual((yield* admission.pressures).length, 0)
      assert.deepStrictEqual((yield* admission.providerModelPressure(chat)).domains, {})
    }).pipe(Effect.provide(controller(2))))

  it.effect("shutdown fails every waiter with Shutdown and refuses new acquires", () =>
    Effect.gen(function*() {
      const admission = yield* RequestAdmission
      const held = yield* admission.tryAcquire({ resource: chat })
      const fibers = []
      for (let i = 0; i < 3; i++) {
        fibers.push(
          yield* forkNow(Effect.scoped(admission.acquire({ resource: resource(i === 0 ? "chat" : "embedding") })))
        )
      }
      yield* settle
      yield* admission.shutdown
      for (const f of fibers) assert.strictEqual((yield* Effect.flip(Fiber.join(f)))._tag, "RequestAdmissionShutdown")
      assert.strictEqual(
        (yield* Effect.flip(admission.tryAcquire({ resource: chat })))._tag,
        "RequestAdmissionShutdown"
      )
      assert.isTrue((yield* admission.release(held, ReleaseOutcome.success)).released)
      assert.deepStrictEqual(yield* leaks, { activeLeases: 0, waiters: 0 })
    }).pipe(Effect.provide(controller(1))))
})

describe("capacity view", () => {
  it.effect("capacityChanges publishes limit changes, cooldown start and cooldown end", () =>
    Effect.gen(function*() {
      const admission = yield* RequestAdmission
      const views: Array<{ limit: number; open: boolean; blockedUntilMillis: number | null }> = []
      yield* admission.capacityChanges.pipe(
        Stream.runForEach((v) =>
          Effect.sync(() => views.push({ limit: v.limit, open: v.open, blockedUntilMillis: v.blockedUntilMillis }))
        ),
        forkNow
      )
      yield* settle
      const lease = yield* admission.tryAcquire({ resource: chat })
      yield* admission.release(lease, ReleaseOutcome.rateLimited(2))
      yield* settle
      assert.deepStrictEqual(views, [{ limit: 3, open: false, blockedUntilMillis: 2000 }])
      assert.deepStrictEqual(yield* admission.capacity(chat), {
        resource: chat,
        limit: 3,
        staticCap: 4,
        open: false,
        blockedUntilMillis: 2000,
        inFlight: 0,
        waiters: 0
      })
      yield* TestClock.adjust("2 seconds")
      yield* settle
      assert.deepStrictEqual(views.at(-1), { limit: 3, open: true, blockedUntilMillis: null })
      yield* admission.register({ provider: "nvidia", model: "nemotron", alias: "tiny", maxParallelRequests: 1 })
      yield* settle
      assert.deepStrictEqual(views.at(-1), { limit: 1, open: true, blockedUntilMillis: null })
    }).pipe(Effect.provide(controller(4, { decreaseToInFlight: false }))))

  it.effect("a zero-timeout acquire behind a queue of another domain still gets a free permit", () =>
    Effect.gen(function*() {
      const admission = yield* RequestAdmission
      yield* admission.tryAcquire({ resource: chat })
      const queued = yield* forkNow(Effect.scoped(admission.acquire({ resource: chat })))
      yield* settle
      assert.strictEqual((yield* pressure()).waiters, 1)
      const lease = yield* admission.acquire({ resource: embedding, queueWaitTimeoutSeconds: 0 })
      assert.strictEqual(lease.resource.domain, "embedding")
      yield* Fiber.interrupt(queued)
    }).pipe(Effect.provide(controller(2, { maxLimitClamps: { "nvidia/nemotron/chat": 1 } }))))
})

describe("events", () => {
  afterEach(() => {
    vi.restoreAllMocks()
  })

  it.effect("nothing is built while nobody listens; a subscriber gets typed events", () =>
    Effect.gen(function*() {
      const admission = yield* RequestAdmission
      const emit = vi.spyOn(Outbox.prototype, "emit")
      const held = yield* admission.tryAcquire({ resource: chat })
      const waiter = yield* forkNow(Effect.scoped(admission.acquire({ resource: chat })))
      yield* settle
      yield* admission.release(held, ReleaseOutcome.rateLimited(1))
      yield* TestClock.adjust("1 second")
      yield* Fiber.join(waiter)
      yield* admission.withLease({ resource: chat }, () => Effect.void)
      assert.strictEqual(emit.mock.calls.length, 0, "no event built without a subscriber")
      const events = yield* recordEvents
      yield* admission.withLease({ resource: chat }, () => Effect.void)
      yield* settle
      assert.deepStrictEqual(events.tags(), ["request_lease_acquired", "request_lease_released"])
      const [released] = events.ofTag("request_lease_released")
      assert.deepStrictEqual(Object.keys(released!).sort(), [
        "_tag",
        "atMillis",
        "group",
        "inFlight",
        "leaseId",
        "limit",
        "outcome",
        "resource",
        "sequence"
      ])
    }).pipe(Effect.provide(controller(1))))
})
