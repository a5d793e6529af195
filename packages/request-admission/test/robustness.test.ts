/**
 * Code the controller calls back into can throw: a step that publishes an event or a capacity view, or a woken
 * waiter whose fiber runs somebody's observer. Whatever it does, a lease's permits come back exactly once and no
 * other waiter is stranded.
 */
import { afterEach, assert, describe, it, vi } from "@effect/vitest"
import { Cause, Effect, Exit, Fiber, Stream } from "effect"
import { TestClock } from "effect/testing"
import { Outbox } from "../src/internal/outbox/Outbox.js"
import { ReleaseOutcome, RequestAdmission } from "../src/index.js"
import type { RequestEventInput } from "../src/RequestEvent.js"
import { assertPermitsAtRest, chat, controller, forkNow, leaks, recordEvents, settle } from "./helpers.js"

const boom = new Error("a callback threw")

/** The next `request_lease_released` event throws while the release step builds it. */
const throwingReleaseEvent = () => {
  const emit = Outbox.prototype.emit
  let thrown = 0
  vi.spyOn(Outbox.prototype, "emit").mockImplementation(function(this: Outbox, now: number, input: RequestEventInput) {
    if (input._tag === "request_lease_released" && thrown === 0) {
      thrown++
      throw boom
    }
    return emit.call(this, now, input)
  })
  return { thrown: () => thrown }
}

const isDefect = (exit: Exit.Exit<unknown, unknown>) => Exit.isFailure(exit) && Cause.hasDies(exit.cause)

afterEach(() => {
  vi.restoreAllMocks()
})

describe("a throwing callback during a release", () => {
  it.effect("release still returns the permits, exactly once, and serves the waiter behind", () =>
    Effect.gen(function*() {
      const admission = yield* RequestAdmission
      yield* recordEvents
      const held = yield* admission.tryAcquire({ resource: chat })
      const waiter = yield* forkNow(Effect.scoped(admission.acquire({ resource: chat })))
      yield* settle
      assert.deepStrictEqual(yield* leaks, { activeLeases: 1, waiters: 1 })
      const failing = throwingReleaseEvent()
      const exit = yield* Effect.exit(admission.release(held, ReleaseOutcome.success))
      assert.strictEqual(failing.thrown(), 1)
      assert.isTrue(isDefect(exit), "the throw surfaces as a defect of the release")
      // The permits came back and went on to the queued waiter.
      yield* Fiber.join(waiter)
      assert.strictEqual((yield* admission.release(held, ReleaseOutcome.success)).reason, "duplicate")
      assert.deepStrictEqual(yield* leaks, { activeLeases: 0, waiters: 0 })
      yield* assertPermitsAtRest()
    }).pipe(Effect.provide(controller(1))))

  it.effect("a throwing capacity publisher during a 429 loses no permit", () =>
    Effect.gen(function*() {
      const admission = yield* RequestAdmission
      yield* admission.capacityChanges.pipe(Stream.runDrain, forkNow)
      yield* settle
      const lease = yield* admission.tryAcquire({ resource: chat })
      const spy = vi.spyOn(Outbox.prototype, "publishView").mockImplementationOnce(() => {
        throw boom
      })
      const exit = yield* Effect.exit(admission.release(lease, ReleaseOutcome.rateLimited(1)))
      assert.strictEqual(spy.mock.calls.length, 1)
      assert.isTrue(isDefect(exit))
      assert.deepStrictEqual(yield* leaks, { activeLeases: 0, waiters: 0 })
      yield* assertPermitsAtRest()
    }).pipe(Effect.provide(controller(2))))

  it.effect("withLease's hot path: the step that closes the lease throws, the semaphores still take back the permits", () =>
    Effect.gen(function*() {
      const admission = yield* RequestAdmission
      yield* recordEvents
      // A first lease makes the domain known, so the next one takes the hot path.
      yield* admission.withLease({ resource: chat }, () => Effect.void)
      const failing = throwingReleaseEvent()
      const exit = yield* Effect.exit(admission.withLease({ resource: chat }, () => Effect.succeed("done")))
      assert.strictEqual(failing.thrown(), 1)
      assert.isTrue(isDefect(exit))
      assert.deepStrictEqual(yield* leaks, { activeLeases: 0, waiters: 0 })
      yield* assertPermitsAtRest()
      assert.strictEqual(yield* admission.withLease({ resource: chat }, () => Effect.succeed(1)), 1)
      yield* assertPermitsAtRest()
    }).pipe(Effect.provide(controller(1))))
})

describe("a throwing delivery", () => {
  it.effect("a woken waiter whose fiber throws strands no other waiter", () =>
    Effect.gen(function*() {
      const admission = yield* RequestAdmission
      // A 429 closes the resource for 1 s; two waiters queue behind the cooldown.
      const lease = yield* admission.tryAcquire({ resource: chat })
      yield* admission.release(lease, ReleaseOutcome.rateLimited(1))
      // The first waiter's fiber runs an observer that throws when it ends, inside the delivery of its lease.
      const first = yield* forkNow(Effect.scoped(Effect.asVoid(admission.acquire({ resource: chat }))))
      first.addObserver(() => {
        throw boom
      })
      const second = yield* forkNow(Effect.scoped(Effect.asVoid(admission.acquire({ resource: chat }))))
      yield* settle
      assert.deepStrictEqual(yield* leaks, { activeLeases: 0, waiters: 2 })
      // The cooldown's end serves both in one step: both wake-ups go out in one flush.
      yield* TestClock.adjust("1 second")
      yield* settle
      yield* Fiber.join(second)
      // The first one ended too (joining it would wait forever: its throwing observer stops the ones after it).
      const exit = first.pollUnsafe()
      assert.isTrue(exit !== undefined && Exit.isSuccess(exit))
      assert.deepStrictEqual(yield* leaks, { activeLeases: 0, waiters: 0 })
      yield* assertPermitsAtRest()
    }).pipe(Effect.provide(controller(2, { decreaseToInFlight: false }))))
})
