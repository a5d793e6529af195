/**
 * RPM / TPM budgets: token buckets per provider/model taken together with the concurrency lease, on the TestClock.
 */
import { assert, describe, it } from "@effect/vitest"
import { requestResourceKey } from "@sluice/scheduling-resources"
import { Effect, Exit, Fiber, Layer } from "effect"
import { TestClock } from "effect/testing"
import {
  type ModelRegistration,
  ReleaseOutcome,
  RequestAdmission,
  type RequestAdmissionConfigInput,
  RequestAdmissionNoCapacity,
  RequestAdmissionQueueTimeout
} from "../src/index.js"
import {
  assertPermitsAtRest,
  chat,
  embedding,
  forkNow,
  leaks,
  MODEL,
  PROVIDER,
  recordEvents,
  settle
} from "./helpers.js"

const other = requestResourceKey("other", "model", "chat")

/** nvidia/nemotron with a budget (cap 100 unless given), and other/model without one. */
const budgeted = (
  budget: Partial<ModelRegistration>,
  config: RequestAdmissionConfigInput = {}
) =>
  RequestAdmission.layer({
    slowStart: false,
    ...config,
    models: [
      { provider: PROVIDER, model: MODEL, maxParallelRequests: 100, ...budget },
      { provider: "other", model: "model", maxParallelRequests: 100 }
    ]
  }).pipe(Layer.orDie)

const budgetOf = Effect.flatMap(
  RequestAdmission,
  (admission) => Effect.map(admission.providerModelPressure({ provider: PROVIDER, model: MODEL }), (p) => p.budget!)
)

/** Forks `n` calls that each count themselves when admitted and end at once. */
const calls = (
  n: number,
  item: { readonly resource: typeof chat; readonly estimatedTokens?: number } = { resource: chat }
) =>
  Effect.gen(function*() {
    const admission = yield* RequestAdmission
    const admitted = { count: 0 }
    const fibers = yield* Effect.forEach(
      Array.from({ length: n }),
      () => forkNow(admission.withLease(item, () => Effect.sync(() => admitted.count++)))
    )
    yield* settle
    return { admitted, fibers }
  })

describe("RPM / TPM budgets", () => {
  it.effect("rpm = 60 admits 60 at once, then one a second; nothing leaks", () =>
    Effect.gen(function*() {
      const { admitted, fibers } = yield* calls(70)
      assert.strictEqual(admitted.count, 60)
      assert.deepStrictEqual(yield* leaks, { activeLeases: 0, waiters: 10 })
      yield* TestClock.adjust(999)
      assert.strictEqual(admitted.count, 60)
      yield* TestClock.adjust(1)
      assert.strictEqual(admitted.count, 61)
      for (let second = 2; second <= 10; second++) {
        yield* TestClock.adjust(1000)
        assert.strictEqual(admitted.count, 60 + second, `after ${second} s`)
      }
      yield* Fiber.joinAll(fibers)
      assert.deepStrictEqual(yield* leaks, { activeLeases: 0, waiters: 0 })
      assert.strictEqual((yield* budgetOf).requestsAvailable, 0)
      yield* assertPermitsAtRest()
    }).pipe(Effect.provide(budgeted({ requestsPerMinute: 60 }))))

  it.effect("budgetBurstSeconds bounds what goes out at once: rpm = 600 with a 1 s burst sends 10, then 10 a second", () =>
    Effect.gen(function*() {
      const { admitted } = yield* calls(40)
      assert.strictEqual(admitted.count, 10)
      yield* TestClock.adjust(100)
      assert.strictEqual(admitted.count, 11)
      yield* TestClock.adjust(900)
      assert.strictEqual(admitted.count, 20)
      // An idle bucket fills up to one second's worth, not more.
      yield* TestClock.adjust(60_000)
      assert.strictEqual(admitted.count, 40)
      assert.strictEqual((yield* budgetOf).requestsAvailable, 10)
    }).pipe(Effect.provide(budgeted({ requestsPerMinute: 600 }, { budgetBurstSeconds: 1 }))))

  it.effect("domains share the provider/model's budget; a waiting call tells subscribers once", () =>
    Effect.gen(function*() {
      const admission = yield* RequestAdmission
      const events = yield* recordEvents
      yield* Effect.scoped(admission.acquire({ resource: chat }))
      yield* Effect.scoped(admission.acquire({ resource: embedding }))
      const third = yield* forkNow(Effect.scoped(admission.acquire({ resource: embedding })))
      const fourth = yield* forkNow(Effect.scoped(admission.acquire({ resource: chat })))
      yield* settle
      const waits = events.ofTag("request_budget_wait")
      assert.strictEqual(waits.length, 1)
      assert.strictEqual(waits[0]!.limit, "requests_per_minute")
      assert.strictEqual(waits[0]!.retryInMs, 30_000)
      assert.strictEqual(waits[0]!.waiters, 1)
      assert.deepStrictEqual(waits[0]!.resource, embedding)
      yield* TestClock.adjust(30_000)
      assert.isTrue(Exit.isSuccess(yield* Fiber.await(third)))
      assert.isUndefined(fourth.pollUnsafe())
      yield* TestClock.adjust(30_000)
      assert.isTrue(Exit.isSuccess(yield* Fiber.await(fourth)))
      assert.deepStrictEqual(yield* leaks, { activeLeases: 0, waiters: 0 })
    }).pipe(Effect.provide(budgeted({ requestsPerMinute: 2 }))))

  it.effect("a budget-blocked provider/model does not hold up another one", () =>
    Effect.gen(function*() {
      const admission = yield* RequestAdmission
      const { admitted } = yield* calls(3)
      assert.strictEqual(admitted.count, 1)
      // The other model has no budget: it is admitted on the hot path while nemotron's queue waits.
      const served = yield* admission.withLease({ resource: other }, () => Effect.succeed("served"))
      assert.strictEqual(served, "served")
      assert.deepStrictEqual(yield* leaks, { activeLeases: 0, waiters: 2 })
      yield* TestClock.adjust(120_000)
      assert.strictEqual(admitted.count, 3)
    }).pipe(Effect.provide(budgeted({ requestsPerMinute: 1 }))))

  it.effect("tokens: the estimate is charged, and the release's usage corrects it (refund and debt)", () =>
    Effect.gen(function*() {
      const admission = yield* RequestAdmission
      const item = { resource: chat, estimatedTokens: 400 }
      const first = yield* admission.acquire(item)
      yield* admission.acquire(item)
      assert.strictEqual((yield* budgetOf).tokensAvailable, 200)
      const third = yield* forkNow(Effect.scoped(admission.acquire(item)))
      yield* settle
      assert.isUndefined(third.pollUnsafe(), "400 tokens are not there")
      // The first call used 100 tokens, not 400: 300 come back and the third fits at once (no time passed).
      yield* admission.release(first, ReleaseOutcome.withUsage(ReleaseOutcome.success, { totalTokens: 100 }))
      yield* settle
      assert.isTrue(Exit.isSuccess(yield* Fiber.await(third)))
      assert.strictEqual((yield* budgetOf).tokensAvailable, 100)
      // A call that used more than its estimate leaves a debt that later calls wait out.
      const fourth = yield* admission.acquire({ resource: chat, estimatedTokens: 50 })
      yield* admission.release(fourth, ReleaseOutcome.withUsage(ReleaseOutcome.success, { totalTokens: 650 }))
      assert.strictEqual((yield* budgetOf).tokensAvailable, -550)
      const fifth = yield* forkNow(Effect.scoped(admission.acquire({ resource: chat, estimatedTokens: 100 })))
      yield* settle
      // 650 tokens at 1000 per minute: 39 s.
      yield* TestClock.adjust(38_999)
      assert.isUndefined(fifth.pollUnsafe())
      yield* TestClock.adjust(1)
      assert.isTrue(Exit.isSuccess(yield* Fiber.await(fifth)))
    }).pipe(Effect.scoped, Effect.provide(budgeted({ tokensPerMinute: 1000 }))))

  it.effect("a call without an estimate is charged defaultEstimatedTokens; one above a minute's worth waits for a full bucket", () =>
    Effect.gen(function*() {
      const admission = yield* RequestAdmission
      yield* Effect.scoped(admission.acquire({ resource: chat }))
      assert.strictEqual((yield* budgetOf).tokensAvailable, 700)
      const big = yield* forkNow(Effect.scoped(admission.acquire({ resource: chat, estimatedTokens: 5000 })))
      yield* settle
      assert.isUndefined(big.pollUnsafe())
      // It needs a full bucket (1000), which is 300 tokens away: 18 s.
      yield* TestClock.adjust(18_000)
      assert.isTrue(Exit.isSuccess(yield* Fiber.await(big)))
      assert.strictEqual((yield* budgetOf).tokensAvailable, -4000)
    }).pipe(Effect.provide(budgeted({ tokensPerMinute: 1000 }, { defaultEstimatedTokens: 300 }))))

  it.effect("a call waiting for budget times out with the usual typed error, and leaves nothing behind", () =>
    Effect.gen(function*() {
      const admission = yield* RequestAdmission
      yield* Effect.scoped(admission.acquire({ resource: chat }))
      const waiting = yield* forkNow(Effect.scoped(admission.acquire({ resource: chat })))
      yield* settle
      yield* TestClock.adjust(5_000)
      const exit = yield* Fiber.await(waiting)
      assert.isTrue(Exit.isFailure(exit))
      const error = Exit.isFailure(exit) ? exit.cause.reasons[0] : undefined
      assert.instanceOf(error?._tag === "Fail" ? error.error : undefined, RequestAdmissionQueueTimeout)
      assert.deepStrictEqual(yield* leaks, { activeLeases: 0, waiters: 0 })
      // "Try once" with no budget left fails at once.
      const once = yield* Effect.flip(Effect.scoped(admission.acquire({ resource: chat, queueWaitTimeoutSeconds: 0 })))
      assert.instanceOf(once, RequestAdmissionQueueTimeout)
      assert.strictEqual(once.waitedMs, 0)
      // tryAcquire names the budget it lacks.
      const denied = yield* Effect.flip(Effect.scoped(admission.tryAcquire({ resource: chat })))
      assert.instanceOf(denied, RequestAdmissionNoCapacity)
      assert.strictEqual(denied.limit, "requests_per_minute")
      yield* assertPermitsAtRest()
    }).pipe(Effect.provide(budgeted({ requestsPerMinute: 1 }, { queueWaitTimeoutSeconds: 5 }))))

  it.effect("interrupting a call that waits for budget takes nothing: no lease, no waiter, no budget", () =>
    Effect.gen(function*() {
      const admission = yield* RequestAdmission
      yield* Effect.scoped(admission.acquire({ resource: chat, estimatedTokens: 10 }))
      const waiting = yield* forkNow(Effect.scoped(admission.acquire({ resource: chat, estimatedTokens: 10 })))
      yield* settle
      yield* Fiber.interrupt(waiting)
      assert.deepStrictEqual(yield* leaks, { activeLeases: 0, waiters: 0 })
      assert.deepStrictEqual(yield* budgetOf, {
        requestsPerMinute: 1,
        requestsAvailable: 0,
        tokensPerMinute: 100,
        tokensAvailable: 90
      })
      yield* TestClock.adjust(60_000)
      // A full minute later the bucket holds one request again, and the next call takes it at once.
      yield* Effect.scoped(admission.acquire({ resource: chat, queueWaitTimeoutSeconds: 0 }))
      yield* assertPermitsAtRest()
    }).pipe(Effect.provide(budgeted({ requestsPerMinute: 1, tokensPerMinute: 100 }))))

  it.effect("a waiter handed a lease and interrupted before it resumes gives its budget back", () =>
    Effect.gen(function*() {
      const admission = yield* RequestAdmission
      const first = yield* admission.acquire({ resource: chat, estimatedTokens: 60 })
      const waiter = yield* forkNow(
        Effect.scoped(Effect.andThen(admission.acquire({ resource: chat, estimatedTokens: 60 }), Effect.never))
      )
      yield* settle
      // The usage report refunds 60 tokens and hands the lease over; the waiter's wake-up is still scheduled.
      yield* admission.release(first, ReleaseOutcome.withUsage(ReleaseOutcome.success, { totalTokens: 0 }))
      assert.strictEqual(waiter.pollUnsafe(), undefined)
      yield* Fiber.interrupt(waiter)
      assert.strictEqual((yield* budgetOf).tokensAvailable, 100)
      assert.deepStrictEqual(yield* leaks, { activeLeases: 0, waiters: 0 })
    }).pipe(Effect.scoped, Effect.provide(budgeted({ tokensPerMinute: 100 }))))

  it.effect("raising the budget by registering again lets waiters through at once", () =>
    Effect.gen(function*() {
      const admission = yield* RequestAdmission
      const { admitted } = yield* calls(4)
      assert.strictEqual(admitted.count, 1)
      yield* admission.register({ provider: PROVIDER, model: MODEL, maxParallelRequests: 100, requestsPerMinute: 4 })
      yield* settle
      assert.strictEqual(admitted.count, 1, "the bucket keeps its level: a higher rate refills faster")
      yield* TestClock.adjust(15_000)
      assert.strictEqual(admitted.count, 2)
      // Dropping the budget opens the queue.
      yield* admission.register({ provider: PROVIDER, model: MODEL, maxParallelRequests: 100 })
      yield* settle
      assert.strictEqual(admitted.count, 4)
      assert.isUndefined((yield* admission.providerModelPressure({ provider: PROVIDER, model: MODEL })).budget)
    }).pipe(Effect.provide(budgeted({ requestsPerMinute: 1 }))))

  it.effect("the concurrency cap and the budget hold together", () =>
    Effect.gen(function*() {
      const admission = yield* RequestAdmission
      let inFlight = 0
      let peak = 0
      let done = 0
      const fibers = yield* Effect.forEach(Array.from({ length: 20 }), () =>
        forkNow(admission.withLease({ resource: chat }, () =>
          Effect.gen(function*() {
            inFlight++
            peak = Math.max(peak, inFlight)
            yield* Effect.sleep(10_000)
            inFlight--
            done++
          }))))
      yield* settle
      assert.strictEqual(inFlight, 2, "the cap")
      // The cap allows 12 calls a minute, the budget 6 (plus the 6 the full bucket starts with): every 10 s two
      // calls end and one request refills, so the bucket runs dry after 50 s.
      for (let step = 1; step <= 4; step++) {
        yield* TestClock.adjust(10_000)
        assert.strictEqual(done, 2 * step)
        assert.strictEqual(inFlight, 2, `the cap at ${step * 10} s`)
      }
      yield* TestClock.adjust(10_000)
      assert.strictEqual(done, 10)
      assert.strictEqual(inFlight, 1, "the budget: one request per 10 s")
      yield* TestClock.adjust(10_000)
      assert.strictEqual(done, 11)
      assert.strictEqual(inFlight, 1)
      yield* TestClock.adjust(200_000)
      yield* Fiber.joinAll(fibers)
      assert.strictEqual(peak, 2)
      assert.deepStrictEqual(yield* leaks, { activeLeases: 0, waiters: 0 })
    }).pipe(Effect.provide(budgeted({ maxParallelRequests: 2, requestsPerMinute: 6 }))))
})
