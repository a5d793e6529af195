/**
 * The admission limits are Effect semaphores used without waiting: their free count is read from the semaphore,
 * and a resize decided in one step is applied afterwards, converging on the size decided last.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber } from "effect"
import { Permits } from "../src/internal/limits/Permits.js"
import { ReleaseOutcome, RequestAdmission } from "../src/index.js"
import { assertPermitsAtRest, chat, controller, embedding, forkNow, internals, settle } from "./helpers.js"

const permitsOf = Effect.flatMap(internals, (i) => i.permits)

describe("Permits", () => {
  it.effect("free permits come from the semaphore: taken, returned, negative after a shrink", () =>
    Effect.gen(function*() {
      let size = 3
      const permits = new Permits(() => size)
      assert.isTrue(yield* permits.take)
      assert.isTrue(yield* permits.take)
      assert.strictEqual(yield* permits.free, 1)
      size = 1
      permits.changed()
      assert.strictEqual(permits.resizing, 1)
      yield* permits.follow
      assert.strictEqual(permits.resizing, 0)
      assert.strictEqual(yield* permits.free, -1)
      assert.isFalse(yield* permits.take)
      assert.strictEqual(yield* permits.give, 0)
      assert.strictEqual(yield* permits.give, 1)
    }))

  it.effect("a resize converges on the size decided last, even if it changes while the resize runs", () =>
    Effect.gen(function*() {
      // Another step decides a new size between the resize's read of the size and the resize itself.
      let reads = 0
      const permits = new Permits(() => (reads++ === 1 ? 4 : 2))
      permits.changed()
      yield* permits.follow
      assert.strictEqual(yield* permits.free, 2, "the semaphore has the size decided last")
      assert.strictEqual(permits.resizing, 0)
    }))
})

describe("the controller's semaphores", () => {
  it.effect("one per provider/model at the static cap, one per domain at its admission limit", () =>
    Effect.gen(function*() {
      const admission = yield* RequestAdmission
      yield* admission.withLease({ resource: chat }, () => Effect.void)
      yield* admission.withLease({ resource: embedding }, () => Effect.void)
      const held = yield* admission.tryAcquire({ resource: chat })
      const view = yield* permitsOf
      assert.deepStrictEqual(view.pools.map((p) => [p.label, p.size, p.free]), [["nvidia/nemotron", 4, 3]])
      assert.deepStrictEqual(view.domains.map((d) => [d.label, d.size, d.free]), [
        ["nvidia/nemotron/chat", 4, 3],
        ["nvidia/nemotron/embedding", 4, 4]
      ])
      // A 429 resizes the domain's semaphore to the decreased limit (4 × 0.5 = 2).
      yield* admission.release(held, ReleaseOutcome.rateLimited(1))
      yield* assertPermitsAtRest()
      const after = yield* permitsOf
      assert.deepStrictEqual(after.domains.map((d) => [d.label, d.size]), [
        ["nvidia/nemotron/chat", 2],
        ["nvidia/nemotron/embedding", 4]
      ])
      // A lower static cap resizes the pool's semaphore.
      yield* admission.register({ provider: "nvidia", model: "nemotron", alias: "small", maxParallelRequests: 1 })
      yield* assertPermitsAtRest()
      assert.deepStrictEqual((yield* permitsOf).pools.map((p) => [p.size, p.free]), [[1, 1]])
    }).pipe(Effect.provide(controller(4, { decreaseFactor: 0.5, decreaseToInFlight: false, slowStart: false }))))

  it.effect("no fiber ever parks on a semaphore: a thousand waiters park in the fair queue", () =>
    Effect.gen(function*() {
      const admission = yield* RequestAdmission
      const held = yield* admission.tryAcquire({ resource: chat })
      const fibers = []
      for (let i = 0; i < 1000; i++) {
        fibers.push(yield* forkNow(admission.withLease({ resource: chat }, () => Effect.void)))
      }
      yield* settle
      assert.strictEqual((yield* admission.inspect).waiters, 1000)
      yield* admission.release(held, ReleaseOutcome.success)
      yield* Fiber.joinAll(fibers)
      yield* assertPermitsAtRest()
    }).pipe(Effect.provide(controller(1))))
})
