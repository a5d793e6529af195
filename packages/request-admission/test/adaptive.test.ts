/**
 * The four improvements over the anchor's AIMD (README "Finding hidden capacity"): each test fails on
 * the anchor's rules (the old numbers are in the comments).
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Fiber, Layer, Scope, Stream } from "effect"
import { TestClock } from "effect/testing"
import { ReleaseOutcome, RequestAdmission, type RequestLease } from "../src/index.js"
import { chat, controller, forkNow, leaks, recordEvents, settle } from "./helpers.js"

const pressure = RequestAdmission.use((a) => a.pressure(chat))

/** Takes leases with `tryAcquire` until one is refused; they stay held (released by the test). */
const grab = (scope: Scope.Scope, max = 100) =>
  Effect.gen(function*() {
    const admission = yield* RequestAdmission
    const leases: Array<RequestLease> = []
    while (leases.length < max) {
      const r = yield* Effect.result(admission.tryAcquire({ resource: chat }).pipe(Scope.provide(scope)))
      if (r._tag === "Failure") break
      leases.push(r.success)
    }
    return leases
  })

describe("decrease to what the provider is serving", () => {
  it.effect("every 429 lowers the limit to the in-flight count after its release", () =>
    Effect.gen(function*() {
      const admission = yield* RequestAdmission
      const scope = yield* Scope.make()
      const held = yield* grab(scope, 6)
      yield* admission.release(held[0]!, ReleaseOutcome.rateLimited(1))
      // ×0.75: 8 → 6, then at most the 5 still in flight (anchor: 6)
      assert.strictEqual((yield* pressure).currentLimit, 5)
      yield* admission.release(held[1]!, ReleaseOutcome.rateLimited(1))
      // same cascade: no second ×0.75, but the clamp follows in flight down to 4 (anchor: 6)
      const p = yield* pressure
      assert.strictEqual(p.currentLimit, 4)
      assert.strictEqual(p.rateLimitCeiling, 8)
      yield* Scope.close(scope, Exit.void)
    }).pipe(Effect.provide(controller(8, { slowStart: false }))))

  it.effect("decreaseToInFlight: false keeps the anchor's decrease", () =>
    Effect.gen(function*() {
      const admission = yield* RequestAdmission
      const scope = yield* Scope.make()
      const held = yield* grab(scope, 6)
      yield* admission.release(held[0]!, ReleaseOutcome.rateLimited(1))
      yield* admission.release(held[1]!, ReleaseOutcome.rateLimited(1))
      assert.strictEqual((yield* pressure).currentLimit, 6)
      yield* Scope.close(scope, Exit.void)
    }).pipe(Effect.provide(controller(8, { slowStart: false, decreaseToInFlight: false }))))
})

describe("half-open cooldown", () => {
  /** A queued acquire whose lease stays in `scope` (join it to release it by hand). */
  const queued = (scope: Scope.Scope) =>
    forkNow(RequestAdmission.use((a) => a.acquire({ resource: chat })).pipe(Scope.provide(scope)))

  it.effect("a success during a cooldown lets exactly one probe start; its success ends the cooldown", () =>
    Effect.gen(function*() {
      const admission = yield* RequestAdmission
      const events = yield* recordEvents
      const views: Array<{ limit: number; open: boolean }> = []
      yield* admission.capacityChanges.pipe(
        Stream.runForEach((v) => Effect.sync(() => views.push({ limit: v.limit, open: v.open }))),
        forkNow
      )
      yield* settle
      const scope = yield* Scope.make()
      const [a, b, c] = yield* grab(scope, 3)
      yield* admission.release(a!, ReleaseOutcome.rateLimited(10)) // cooling until 10 s, limit 3
      const waiting = [yield* queued(scope), yield* queued(scope), yield* queued(scope)]
      yield* settle
      assert.strictEqual((yield* pressure).waiters, 3)
      yield* admission.release(b!, ReleaseOutcome.success)
      yield* settle
      // the provider served b during the cooldown: one probe started (anchor: nothing until 10 s)
      let p = yield* pressure
      assert.strictEqual(p.inFlight, 2)
      assert.strictEqual(p.waiters, 2)
      assert.isNotNull(p.blockedUntilMillis)
      assert.deepStrictEqual(views.slice(-2), [{ limit: 2, open: true }, { limit: 3, open: false }])
      const probe = yield* Fiber.join(waiting[0]!)
      // another success while the probe runs opens no second probe
      yield* admission.release(c!, ReleaseOutcome.success)
      yield* settle
      p = yield* pressure
      assert.strictEqual(p.inFlight, 1)
      assert.strictEqual(p.waiters, 2)
      // the probe succeeds: the cooldown ends at once (at 0 s, not 10 s) and the waiters are admitted
      yield* admission.release(probe, ReleaseOutcome.success)
      yield* settle
      p = yield* pressure
      assert.isNull(p.blockedUntilMillis)
      assert.strictEqual(p.inFlight, 2)
      assert.strictEqual(p.waiters, 0)
      const ended = events.seen.filter((e) => e._tag === "request_cooldown_ended")
      assert.deepStrictEqual(ended.map((e) => [e.reason, e.atMillis]), [["probe_succeeded", 0]])
      assert.deepStrictEqual(views.at(-1), { limit: 3, open: true })
      yield* Scope.close(scope, Exit.void)
      assert.deepStrictEqual(yield* leaks, { activeLeases: 0, waiters: 0 })
    }).pipe(Effect.provide(controller(4, { slowStart: false, decreaseToInFlight: false }))))

  it.effect("a rate-limited probe keeps the cooldown (extended); the next success opens another probe", () =>
    Effect.gen(function*() {
      const admission = yield* RequestAdmission
      const scope = yield* Scope.make()
      const [a, b, c] = yield* grab(scope, 3)
      yield* admission.release(a!, ReleaseOutcome.rateLimited(1))
      const first = yield* queued(scope)
      const second = yield* queued(scope)
      yield* settle
      yield* admission.release(b!, ReleaseOutcome.success)
      const probe = yield* Fiber.join(first)
      yield* TestClock.adjust("500 millis")
      yield* admission.release(probe, ReleaseOutcome.rateLimited(1))
      let p = yield* pressure
      assert.strictEqual(p.blockedUntilMillis, 1500, "extended by the max rule")
      assert.strictEqual(p.waiters, 1)
      yield* admission.release(c!, ReleaseOutcome.success)
      const again = yield* Fiber.join(second)
      p = yield* pressure
      assert.strictEqual(p.inFlight, 1, "a second probe started")
      assert.strictEqual(p.blockedUntilMillis, 1500)
      yield* admission.release(again, ReleaseOutcome.success)
      assert.isNull((yield* pressure).blockedUntilMillis)
      yield* Scope.close(scope, Exit.void)
    }).pipe(Effect.provide(controller(4, { slowStart: false, decreaseToInFlight: false }))))

  it.effect("halfOpenCooldown: false keeps the domain closed until blockedUntil", () =>
    Effect.gen(function*() {
      const admission = yield* RequestAdmission
      const scope = yield* Scope.make()
      const [a, b] = yield* grab(scope, 2)
      yield* admission.release(a!, ReleaseOutcome.rateLimited(1))
      const waiter = yield* queued(scope)
      yield* settle
      yield* admission.release(b!, ReleaseOutcome.success)
      yield* settle
      assert.isUndefined(waiter.pollUnsafe())
      yield* TestClock.adjust("1 second")
      yield* Fiber.join(waiter)
      yield* Scope.close(scope, Exit.void)
    }).pipe(Effect.provide(controller(4, { slowStart: false, decreaseToInFlight: false, halfOpenCooldown: false }))))
})

describe("probing rarely above a known ceiling", () => {
  it.effect("each failed probe at the ceiling doubles the successes needed to reach it again", () =>
    Effect.gen(function*() {
      const admission = yield* RequestAdmission
      const once = (outcome: ReleaseOutcome) =>
        Effect.flatMap(admission.tryAcquire({ resource: chat }), (lease) => admission.release(lease, outcome))
      const successes = (n: number) => Effect.repeat(once(ReleaseOutcome.success), { times: n - 1 })
      yield* once(ReleaseOutcome.rateLimited(1)) // 4 → 2, ceiling 4 (first 429: k = 0)
      yield* TestClock.adjust("1 second")
      yield* successes(2)
      assert.strictEqual((yield* pressure).currentLimit, 3)
      yield* successes(2)
      assert.strictEqual((yield* pressure).currentLimit, 4, "k = 0: the normal 2 successes")
      yield* once(ReleaseOutcome.rateLimited(1)) // the probe at 4 failed: k = 1, limit 2
      yield* TestClock.adjust("1 second")
      assert.strictEqual((yield* pressure).ceilingProbeFailures, 1)
      yield* successes(2)
      assert.strictEqual((yield* pressure).currentLimit, 3, "below the ceiling: the normal rate")
      yield* successes(3)
      assert.strictEqual((yield* pressure).currentLimit, 3, "to the ceiling: 2 × 2^1 successes (anchor: 4 already)")
      yield* successes(1)
      assert.strictEqual((yield* pressure).currentLimit, 4)
      // the probe holds for a full streak: k resets
      yield* successes(2)
      assert.strictEqual((yield* pressure).ceilingProbeFailures, 0)
    }).pipe(
      Effect.provide(
        controller(4, { slowStart: false, decreaseToInFlight: false, decreaseFactor: 0.5, successesUntilIncrease: 2 })
      )
    ))
})

describe("slow start", () => {
  it.effect("by default the first window is three quarters of the limit (at least 4)", () =>
    Effect.gen(function*() {
      const admission = yield* RequestAdmission
      const scope = yield* Scope.make()
      assert.strictEqual((yield* grab(scope)).length, 12, "anchor: all 16 at once")
      assert.strictEqual((yield* admission.capacity(chat)).limit, 12)
      assert.strictEqual((yield* pressure).slowStartWindow, 12)
      yield* Scope.close(scope, Exit.void)
    }).pipe(Effect.provide(controller(16))))

  it.effect("admissions start at the configured window; the first success opens the limit", () =>
    Effect.gen(function*() {
      const admission = yield* RequestAdmission
      const scope = yield* Scope.make()
      const first = yield* grab(scope)
      assert.strictEqual(first.length, 4, "anchor: all 16 at once")
      assert.strictEqual((yield* admission.capacity(chat)).limit, 4)
      assert.strictEqual((yield* pressure).slowStartWindow, 4)
      yield* admission.release(first[0]!, ReleaseOutcome.success)
      const more = yield* grab(scope)
      assert.strictEqual(more.length, 13, "16 with 3 still in flight")
      const p = yield* pressure
      assert.isNull(p.slowStartWindow)
      assert.strictEqual(p.currentLimit, 16)
      assert.strictEqual((yield* admission.capacity(chat)).limit, 16)
      yield* Scope.close(scope, Exit.void)
    }).pipe(Effect.provide(controller(16, { slowStart: true, slowStartInitialWindow: 4 }))))

  it.effect("a 429 before any success ends slow start with the decrease, clamped to what is in flight", () =>
    Effect.gen(function*() {
      const admission = yield* RequestAdmission
      const scope = yield* Scope.make()
      const first = yield* grab(scope)
      yield* admission.release(first[0]!, ReleaseOutcome.rateLimited(1))
      const p = yield* pressure
      assert.isNull(p.slowStartWindow, "the first 429 ends slow start")
      assert.strictEqual(p.currentLimit, 3, "16 × 0.75 = 12, clamped to the 3 in flight")
      yield* admission.release(first[1]!, ReleaseOutcome.success)
      assert.isNull((yield* pressure).slowStartWindow, "a later success does not reopen the first wave")
      assert.strictEqual((yield* pressure).currentLimit, 3)
      yield* Scope.close(scope, Exit.void)
    }).pipe(Effect.provide(controller(16, { slowStart: true, slowStartInitialWindow: 4 }))))

  it.effect("slow start ends when the window reaches the limit", () =>
    Effect.gen(function*() {
      const admission = yield* RequestAdmission
      for (let i = 0; i < 2; i++) yield* admission.withLease({ resource: chat }, () => Effect.void)
      assert.strictEqual((yield* pressure).slowStartWindow, null)
      const scope = yield* Scope.make()
      assert.strictEqual((yield* grab(scope)).length, 6)
      yield* Scope.close(scope, Exit.void)
    }).pipe(Effect.provide(controller(6, { slowStart: true }))))

  it.effect("raising the cap of a domain never rate limited lifts its limit behind a slow-start window", () =>
    Effect.gen(function*() {
      const admission = yield* RequestAdmission
      yield* admission.withLease({ resource: chat }, () => Effect.void)
      yield* admission.register({ provider: "nvidia", model: "nemotron", alias: "default", maxParallelRequests: 8 })
      const p = yield* pressure
      assert.strictEqual(p.currentLimit, 8)
      assert.strictEqual(p.slowStartWindow, 2, "admissions continue where they were")
      const scope = yield* Scope.make()
      const held = yield* grab(scope)
      assert.strictEqual(held.length, 2)
      // Unlike a fresh resource's first wave, this window grows by one per success.
      yield* admission.release(held[0]!, ReleaseOutcome.success)
      assert.strictEqual((yield* pressure).slowStartWindow, 3)
      assert.strictEqual((yield* grab(scope)).length, 2, "window 3 with 1 in flight")
      yield* Scope.close(scope, Exit.void)
    }).pipe(Effect.provide(controller(2, { slowStart: true }))))

  it.effect("a first wave that draws no 429 for slowStartProbeSeconds opens the limit before any answer", () =>
    Effect.gen(function*() {
      const admission = yield* RequestAdmission
      const scope = yield* Scope.make()
      assert.strictEqual((yield* grab(scope)).length, 4)
      // A caller already waiting behind the full wave is served the moment it opens.
      const waiting = yield* forkNow(admission.acquire({ resource: chat }).pipe(Scope.provide(scope)))
      yield* TestClock.adjust("9 millis")
      assert.strictEqual((yield* pressure).slowStartWindow, 4, "not before the probe period ends")
      assert.isUndefined(waiting.pollUnsafe())
      yield* TestClock.adjust("1 millis")
      yield* settle
      const served = waiting.pollUnsafe()
      assert.isTrue(served !== undefined && Exit.isSuccess(served), "the waiter got the first opened slot")
      const p = yield* pressure
      assert.isNull(p.slowStartWindow)
      assert.strictEqual(p.currentLimit, 16)
      assert.strictEqual((yield* grab(scope)).length, 11, "16 with 5 in flight")
      yield* Scope.close(scope, Exit.void)
      assert.deepStrictEqual(yield* leaks, { activeLeases: 0, waiters: 0 })
    }).pipe(Effect.provide(controller(16, { slowStartInitialWindow: 4 }))))

  it.effect("a 429 within the probe period keeps the first wave from opening", () =>
    Effect.gen(function*() {
      const admission = yield* RequestAdmission
      const scope = yield* Scope.make()
      const first = yield* grab(scope)
      yield* TestClock.adjust("5 millis")
      yield* admission.release(first[0]!, ReleaseOutcome.rateLimited(1))
      yield* TestClock.adjust("1 second")
      const p = yield* pressure
      assert.strictEqual(p.currentLimit, 3, "the decrease stands: 16 × 0.75, clamped to the 3 in flight")
      assert.strictEqual((yield* grab(scope)).length, 0)
      yield* Scope.close(scope, Exit.void)
    }).pipe(Effect.provide(controller(16, { slowStartInitialWindow: 4, slowStartProbeSeconds: 0.01 }))))

  it.effect("slowStartProbeSeconds: null waits for the first answer however long it takes", () =>
    Effect.gen(function*() {
      const admission = yield* RequestAdmission
      const scope = yield* Scope.make()
      const first = yield* grab(scope)
      yield* TestClock.adjust("10 seconds")
      assert.strictEqual((yield* pressure).slowStartWindow, 4)
      assert.strictEqual((yield* grab(scope)).length, 0)
      yield* admission.release(first[0]!, ReleaseOutcome.success)
      assert.strictEqual((yield* grab(scope)).length, 13)
      yield* Scope.close(scope, Exit.void)
    }).pipe(Effect.provide(controller(16, { slowStartInitialWindow: 4, slowStartProbeSeconds: null }))))

  it.effect("the probe period counts from the moment the wave is full, not from the first admission", () =>
    Effect.gen(function*() {
      const scope = yield* Scope.make()
      const early = yield* grab(scope, 3)
      yield* TestClock.adjust("1 second")
      assert.strictEqual((yield* grab(scope)).length, 1, "the fourth lease fills the wave")
      yield* TestClock.adjust("9 millis")
      assert.strictEqual((yield* grab(scope)).length, 0)
      yield* TestClock.adjust("1 millis")
      assert.strictEqual((yield* grab(scope)).length, 12)
      assert.strictEqual(early.length, 3)
      yield* Scope.close(scope, Exit.void)
    }).pipe(Effect.provide(controller(16, { slowStartInitialWindow: 4 }))))

  it.effect("a negative or infinite slowStartProbeSeconds is a config error naming the field", () =>
    Effect.gen(function*() {
      for (const bad of [-0.01, Infinity, Number.NaN]) {
        const error = yield* Effect.flip(Layer.build(RequestAdmission.layer({ slowStartProbeSeconds: bad })))
        assert.strictEqual(error._tag, "RequestAdmissionConfigError")
        assert.strictEqual(error.field, "slowStartProbeSeconds")
      }
    }).pipe(Effect.scoped))

  it.effect("slowStart: false (the anchor's rule) admits up to the limit at once", () =>
    Effect.gen(function*() {
      const scope = yield* Scope.make()
      assert.strictEqual((yield* grab(scope)).length, 16)
      yield* Scope.close(scope, Exit.void)
    }).pipe(Effect.provide(controller(16, { slowStart: false }))))
})
