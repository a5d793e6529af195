import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Fiber } from "effect"
import { TestClock } from "effect/testing"
import { ReleaseOutcome, RequestAdmission } from "../src/index.js"
import { chat, controller, embedding, forkNow, leaks, queueStateSize, recordEvents, settle } from "./helpers.js"

const pressure = (r = chat) => RequestAdmission.use((a) => a.pressure(r))

describe("interruption", () => {
  it.effect("a waiter interrupted while queued leaves no waiter, no permit and no event gap", () =>
    Effect.gen(function*() {
      const admission = yield* RequestAdmission
      const events = yield* recordEvents
      const held = yield* admission.tryAcquire({ resource: chat })
      const waiter = yield* forkNow(Effect.scoped(admission.acquire({ resource: chat })))
      yield* settle
      assert.strictEqual((yield* pressure()).waiters, 1)
      yield* Fiber.interrupt(waiter)
      assert.deepStrictEqual(yield* leaks, { activeLeases: 1, waiters: 0 })
      assert.strictEqual(yield* queueStateSize, 0, "fair-queue state shrinks as waiters leave")
      yield* admission.release(held, ReleaseOutcome.success)
      // the permit is free again: the cap-1 resource admits at once
      const again = yield* admission.tryAcquire({ resource: chat })
      yield* admission.release(again, ReleaseOutcome.success)
      yield* settle
      const kinds = events.tags()
      assert.include(kinds, "request_wait_started")
      assert.include(kinds, "request_wait_cancelled")
      const sequences = events.seen.map((e) => e.sequence)
      for (let i = 1; i < sequences.length; i++) assert.strictEqual(sequences[i], sequences[i - 1]! + 1)
      assert.deepStrictEqual(yield* leaks, { activeLeases: 0, waiters: 0 })
    }).pipe(Effect.provide(controller(1))))

  it.effect("a fiber interrupted after acquiring releases exactly once as local_cancelled", () =>
    Effect.gen(function*() {
      const admission = yield* RequestAdmission
      const holder = yield* forkNow(
        Effect.scoped(Effect.andThen(admission.acquire({ resource: chat }), Effect.never))
      )
      yield* settle
      assert.strictEqual((yield* pressure()).inFlight, 1)
      yield* Fiber.interrupt(holder)
      const p = yield* pressure()
      assert.strictEqual(p.inFlight, 0)
      assert.strictEqual(p.lastOutcome, "local_cancelled")
      const view = yield* admission.inspect
      assert.strictEqual(view.duplicateReleases, 0)
      assert.strictEqual(view.activeLeases, 0)
    }).pipe(Effect.provide(controller(1))))

  it.effect("withLease releases an interrupted holder as local_cancelled", () =>
    Effect.gen(function*() {
      const admission = yield* RequestAdmission
      const holder = yield* forkNow(admission.withLease({ resource: chat }, () => Effect.never))
      yield* settle
      yield* Fiber.interrupt(holder)
      assert.strictEqual((yield* pressure()).lastOutcome, "local_cancelled")
      assert.deepStrictEqual(yield* leaks, { activeLeases: 0, waiters: 0 })
    }).pipe(Effect.provide(controller(1))))

  it.effect("a waiter handed a lease and interrupted before it resumes releases it as local_cancelled", () =>
    Effect.gen(function*() {
      const admission = yield* RequestAdmission
      const held = yield* admission.tryAcquire({ resource: chat })
      const waiter = yield* forkNow(
        Effect.scoped(Effect.andThen(admission.acquire({ resource: embedding }), Effect.never))
      )
      yield* settle
      // the release hands the lease over; the waiter's wake-up is still scheduled when we interrupt it
      yield* admission.release(held, ReleaseOutcome.success)
      assert.strictEqual((yield* pressure(embedding)).inFlight, 1)
      yield* Fiber.interrupt(waiter)
      assert.strictEqual((yield* pressure(embedding)).inFlight, 0)
      assert.strictEqual((yield* pressure(embedding)).lastOutcome, "local_cancelled")
      assert.deepStrictEqual(yield* leaks, { activeLeases: 0, waiters: 0 })
      assert.strictEqual((yield* admission.inspect).duplicateReleases, 0)
    }).pipe(Effect.provide(controller(1))))

  it.effect("a timeout racing a hand-off never leaks (200 iterations)", () =>
    Effect.gen(function*() {
      const admission = yield* RequestAdmission
      let handedOff = 0
      let timedOut = 0
      for (let i = 0; i < 200; i++) {
        // the holder releases at exactly the waiter's deadline (and at ±1 ms on some iterations)
        const skew = (i % 3) - 1
        const holder = yield* forkNow(admission.withLease({ resource: chat }, () => Effect.sleep(100 + skew)))
        yield* settle
        const waiter = yield* forkNow(
          Effect.scoped(
            Effect.andThen(admission.acquire({ resource: chat, queueWaitTimeoutSeconds: 0.1 }), Effect.sleep(5))
          )
        )
        yield* settle
        yield* TestClock.adjust("101 millis")
        yield* settle
        yield* TestClock.adjust("10 millis")
        const exit = yield* Fiber.await(waiter)
        yield* Fiber.join(holder)
        if (Exit.isSuccess(exit)) handedOff++
        else timedOut++
        assert.deepStrictEqual(yield* leaks, { activeLeases: 0, waiters: 0 }, `iteration ${i}`)
        const p = yield* pressure()
        assert.strictEqual(p.inFlight, 0)
      }
      assert.strictEqual(handedOff + timedOut, 200)
      assert.isAbove(handedOff, 0)
      assert.isAbove(timedOut, 0)
      // every permit came back
      const lease = yield* admission.tryAcquire({ resource: chat })
      yield* admission.release(lease, ReleaseOutcome.success)
      assert.strictEqual((yield* admission.inspect).duplicateReleases, 0)
    }).pipe(Effect.provide(controller(1))))

  it.effect("interrupting many waiters and holders at random leaves nothing behind", () =>
    Effect.gen(function*() {
      const admission = yield* RequestAdmission
      const fibers = []
      for (let i = 0; i < 300; i++) {
        fibers.push(
          yield* forkNow(
            admission.withLease({ resource: i % 2 === 0 ? chat : embedding }, () => Effect.sleep(10 + (i % 7)))
          )
        )
      }
      yield* settle
      for (let i = 0; i < fibers.length; i += 3) yield* Fiber.interrupt(fibers[i]!)
      yield* TestClock.adjust("10 seconds")
      yield* settle
      for (const f of fibers) yield* Fiber.await(f)
      assert.deepStrictEqual(yield* leaks, { activeLeases: 0, waiters: 0 })
      assert.strictEqual(yield* queueStateSize, 0)
    }).pipe(Effect.provide(controller(3))))
})
