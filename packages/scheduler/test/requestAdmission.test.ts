import { ModelRateLimitError, ModelRequestAdmissionTimeoutError, ProviderError } from "@sluice/errors"
import { assert, describe, it } from "@effect/vitest"
import { make as makeRequestAdmission, makeExecutor, type RequestAdmissionConfigInput } from "@sluice/request-admission"
import { type RequestCapacityView, requestResourceKey } from "@sluice/scheduling-resources"
import { Clock, Effect, Fiber, PubSub, Schedule, Stream } from "effect"
import { TestClock } from "effect/testing"
import { modelMetadata } from "@sluice/resolver"
import { makeScheduler } from "../src/index.js"
import { checkInvariants, memorySink, runTest } from "./helpers.js"

const resource = requestResourceKey("prov", "model", "chat")

/** The real request layer and executor in front of a fake provider whose first answer is a 429. */
const setup = (cap: number, retryAfterSeconds: number, options: Omit<RequestAdmissionConfigInput, "models"> = {}) =>
  Effect.gen(function*() {
    const admission = yield* makeRequestAdmission({
      models: [{ provider: "prov", model: "model", maxParallelRequests: cap }],
      ...options
    })
    const executor = makeExecutor(admission)
    let calls = 0
    let maxWaiters = 0
    yield* Effect.forkScoped(
      admission.inspect.pipe(
        Effect.tap((i) => Effect.sync(() => void (maxWaiters = Math.max(maxWaiters, i.waiters)))),
        Effect.repeat(Schedule.spaced(5))
      )
    )
    const call = (latencyMs: number) =>
      executor.execute({ resource }, () =>
        Effect.suspend(() =>
          ++calls === 1
            ? Effect.sleep(100).pipe(
              Effect.andThen(Effect.fail(
                new ProviderError({
                  kind: "rate_limit",
                  message: "slow down",
                  provider: "prov",
                  model: "model",
                  status: 429,
                  retryAfterSeconds
                })
              ))
            )
            : Effect.sleep(latencyMs).pipe(Effect.as("ok"))
        ))
    const probe = {
      leases: () => 0,
      waiters: () => 0
    }
    return { admission, call, maxWaiters: () => maxWaiters, probe }
  })

describe("with @sluice/request-admission", () => {
  it.effect("a 429 lowers the adaptive limit 8 → 6: model tasks follow it and no request waiter is created", () =>
    Effect.gen(function*() {
      // The anchor's AIMD (×0.75 once per cascade, no slow start), so the limit change is exactly 8 → 6.
      const { admission, call, maxWaiters } = yield* setup(8, 2, { slowStart: false, decreaseToInFlight: false })
      let active = 0
      let maxAfterDrop = 0
      const { result } = yield* runTest({
        rows: 40,
        bufferSize: 40,
        columns: [{
          name: "gen",
          strategy: "cell",
          scheduling: modelMetadata("prov", "model", "chat", 8),
          generate: () =>
            Effect.gen(function*() {
              active++
              if ((yield* Clock.currentTimeMillis) > 100) maxAfterDrop = Math.max(maxAfterDrop, active)
              return yield* call(1000).pipe(Effect.ensuring(Effect.sync(() => active--)), Effect.as({ gen: 1 }))
            })
        }]
      }, { requestCapacity: admission })
      const inspection = yield* admission.inspect
      assert.strictEqual(result.rowsCompleted, 40)
      assert.strictEqual(maxAfterDrop, 6)
      assert.strictEqual(maxWaiters(), 0)
      assert.strictEqual(result.outcomes["rate_limit"], 1)
      assert.deepInclude(inspection, { activeLeases: 0, waiters: 0 })
      assert.strictEqual(result.runtimeRequestLimits[0]!.minObservedLimit, 0 + 6)
    }))

  const rateLimitedRetryTime = (options: Omit<RequestAdmissionConfigInput, "models">) =>
    Effect.gen(function*() {
      // Row 0's first call is a 429 at t = 100 ms with Retry-After 30 s; rows 1–3 succeed at t = 1 s.
      const { admission, call } = yield* setup(4, 30, options)
      const attemptsAt: Array<number> = []
      const { result } = yield* runTest({
        rows: 4,
        bufferSize: 4,
        columns: [{
          name: "gen",
          strategy: "cell",
          scheduling: modelMetadata("prov", "model", "chat", 4),
          generate: ({ row }) =>
            Effect.gen(function*() {
              if (row === 0) attemptsAt.push(yield* Clock.currentTimeMillis)
              return yield* call(1000).pipe(Effect.as({ gen: 1 }))
            })
        }]
      }, { requestCapacity: admission })
      assert.strictEqual(result.rowsCompleted, 4)
      assert.strictEqual(result.outcomes["rate_limit"], 1)
      assert.strictEqual(attemptsAt.length, 2)
      return attemptsAt[1]!
    })

  it.effect("a rate-limited task retries as soon as its endpoint reopens (half-open probe), not at Retry-After", () =>
    Effect.gen(function*() {
      // The first success during the cooldown opens one probe slot; the waiting task takes it at once.
      const retriedAt = yield* rateLimitedRetryTime({ slowStart: false })
      assert.isAtLeast(retriedAt, 1_000)
      assert.isBelow(retriedAt, 1_100)
    }))

  it.effect("without an early reopen, the same task waits out its Retry-After", () =>
    Effect.gen(function*() {
      const retriedAt = yield* rateLimitedRetryTime({ slowStart: false, halfOpenCooldown: false })
      assert.isAtLeast(retriedAt, 30_100)
    }))

  it.effect("interrupting run releases every request lease", () =>
    Effect.gen(function*() {
      const { admission, call } = yield* setup(4, 1)
      const { sink, written } = memorySink()
      const scheduler = yield* makeScheduler({
        rows: 20,
        bufferSize: 4,
        sink,
        columns: [{
          name: "gen",
          strategy: "cell",
          scheduling: modelMetadata("prov", "model", "chat", 4),
          generate: () => call(700).pipe(Effect.as({ gen: 1 }))
        }]
      }, { requestCapacity: admission })
      const events = yield* Effect.forkChild(Stream.runCollect(scheduler.events), { startImmediately: true })
      const fiber = yield* Effect.forkChild(scheduler.run, { startImmediately: true })
      yield* TestClock.adjust(1_650)
      assert.isAbove((yield* admission.inspect).activeLeases, 0)
      yield* Fiber.interrupt(fiber)
      yield* Fiber.join(events)
      assert.deepInclude(yield* admission.inspect, { activeLeases: 0, waiters: 0 })
      yield* checkInvariants(scheduler, written, undefined)
    }))

  /**
   * Declared 16, real capacity 4: the provider answers a request beyond 4 with a 429 on the next tick (a fast
   * rejection), the way a loopback or nearby provider does. Returns the 429s drawn before the first success.
   */
  const firstWave429s = (dispatchBatch: number) =>
    Effect.gen(function*() {
      const admission = yield* makeRequestAdmission({
        models: [{ provider: "prov", model: "model", maxParallelRequests: 16 }],
        slowStart: false
      })
      const executor = makeExecutor(admission)
      let serving = 0
      let succeeded = 0
      let firstWave = 0
      const call = executor.execute({ resource }, () =>
        Effect.yieldNow.pipe(Effect.andThen(Effect.suspend(() => {
          if (serving >= 4) {
            if (succeeded === 0) firstWave++
            return Effect.fail(
              new ProviderError({
                kind: "rate_limit",
                message: "busy",
                provider: "prov",
                model: "model",
                status: 429,
                retryAfterSeconds: 1
              })
            )
          }
          serving++
          return Effect.sleep(1000).pipe(Effect.ensuring(Effect.sync(() => {
            serving--
            succeeded++
          })))
        }))))
      const { result } = yield* runTest({
        rows: 16,
        bufferSize: 16,
        columns: [{
          name: "gen",
          strategy: "cell",
          scheduling: modelMetadata("prov", "model", "chat", 16),
          generate: () => call.pipe(Effect.as({ gen: 1 }))
        }]
      }, { requestCapacity: admission, dispatchBatch })
      assert.strictEqual(result.rowsCompleted, 16, "every rate-limited row is retried, none dropped")
      assert.deepInclude(yield* admission.inspect, { activeLeases: 0, waiters: 0 })
      return firstWave
    })

  it.effect("dispatch batches let a fast 429 stop the first wave: 4 excess requests instead of 12", () =>
    Effect.gen(function*() {
      assert.strictEqual(yield* firstWave429s(4), 4, "the second batch of 4 meets the 429s; the third never goes")
      assert.strictEqual(yield* firstWave429s(16), 12, "one batch of 16: every request above 4 is rejected")
    }))
})

describe("admission timeouts under the scheduler", () => {
  it.effect("a zero queue-wait timeout on a controller shared with other work cannot make a task spin", () =>
    Effect.gen(function*() {
      const admission = yield* makeRequestAdmission({
        models: [{ provider: "prov", model: "model", maxParallelRequests: 1 }],
        queueWaitTimeoutSeconds: 0,
        slowStart: false
      })
      const executor = makeExecutor(admission)
      // Other work, unseen by the scheduler, holds the endpoint's only request slot for one second.
      const other = yield* Effect.forkChild(admission.withLease({ resource }, () => Effect.sleep(1_000)), {
        startImmediately: true
      })
      const attemptsAt: Array<number> = []
      const { result } = yield* runTest({
        rows: 1,
        bufferSize: 1,
        columns: [{
          name: "gen",
          strategy: "cell",
          scheduling: modelMetadata("prov", "model", "chat", 1),
          generate: () =>
            Clock.currentTimeMillis.pipe(
              Effect.tap((t) => Effect.sync(() => void attemptsAt.push(t))),
              Effect.andThen(executor.execute({ resource }, () => Effect.succeed("ok"))),
              Effect.as({ gen: 1 })
            )
        }]
      }, { requestCapacity: admission })
      yield* Fiber.join(other)
      assert.strictEqual(result.rowsCompleted, 1)
      // Each refused attempt waits the 50 ms floor: about 20 attempts in the second the slot was taken, not one
      // per millisecond.
      assert.isAtMost(attemptsAt.length, 22)
      assert.isAtLeast(attemptsAt.length, 15)
      for (let i = 1; i < attemptsAt.length; i++) assert.isAtLeast(attemptsAt[i]! - attemptsAt[i - 1]!, 50)
      assert.strictEqual(result.outcomes["request_admission_timeout"], attemptsAt.length - 1)
      assert.deepInclude(yield* admission.inspect, { activeLeases: 0, waiters: 0 })
    }))

  it.effect("requests time out in the real controller's queue while other work holds it; every row survives", () =>
    Effect.gen(function*() {
      const admission = yield* makeRequestAdmission({
        models: [{ provider: "prov", model: "model", maxParallelRequests: 2 }],
        queueWaitTimeoutSeconds: 0.1,
        slowStart: false
      })
      const executor = makeExecutor(admission)
      const others = yield* Effect.forkChild(
        Effect.all([1, 2].map(() => admission.withLease({ resource }, () => Effect.sleep(1_000))), {
          concurrency: "unbounded"
        }),
        { startImmediately: true }
      )
      const { events, result } = yield* runTest({
        rows: 4,
        bufferSize: 4,
        columns: [{
          name: "gen",
          strategy: "cell",
          scheduling: modelMetadata("prov", "model", "chat", 2),
          generate: () =>
            executor.execute({ resource }, () => Effect.sleep(100).pipe(Effect.as("ok"))).pipe(Effect.as({ gen: 1 }))
        }]
      }, { requestCapacity: admission })
      yield* Fiber.join(others)
      assert.strictEqual(result.rowsCompleted, 4)
      assert.strictEqual(result.rowsDropped, 0)
      const timeouts = events.filter((e) => e._tag === "preserved_retryable" && e.kind === "request_admission_timeout")
      assert.isAbove(timeouts.length, 0, "the queue timeouts are visible in the events")
      assert.strictEqual(result.outcomes["request_admission_timeout"], timeouts.length)
      assert.isAbove(result.maxRequestWaiters, 0)
      assert.deepInclude(yield* admission.inspect, { activeLeases: 0, waiters: 0 })
    }))
})

describe("retry pacing by the request cooldown", () => {
  /**
   * A request layer whose domain starts a 250 ms cooldown when `cool` is called (as a 429 does), then reopens.
   */
  const coolingSource = Effect.gen(function*() {
    const pubsub = yield* PubSub.unbounded<RequestCapacityView>()
    const view: { -readonly [K in keyof RequestCapacityView]: RequestCapacityView[K] } = {
      resource,
      limit: 4,
      staticCap: 4,
      open: true,
      blockedUntilMillis: null,
      inFlight: 0,
      waiters: 0
    }
    const cool = Effect.gen(function*() {
      const now = yield* Clock.currentTimeMillis
      view.open = false
      view.blockedUntilMillis = now + 250
      yield* PubSub.publish(pubsub, { ...view })
      yield* Effect.forkDetach(
        Effect.sleep(250).pipe(Effect.andThen(Effect.suspend(() => {
          view.open = true
          view.blockedUntilMillis = null
          return PubSub.publish(pubsub, { ...view })
        })))
      )
    })
    return {
      source: { capacity: () => Effect.sync(() => ({ ...view })), capacityChanges: Stream.fromPubSub(pubsub) },
      cool
    }
  })

  const facts = { provider: "prov", model: "model", reason: "r", solution: "s" }
  const failures = {
    rate_limit: () => new ModelRateLimitError({ ...facts, status: 429 }),
    request_admission_timeout: () =>
      new ModelRequestAdmissionTimeoutError({ ...facts, resource: "prov/model/chat", waitedMs: 100, waitersAhead: 1 })
  }

  for (const kind of ["rate_limit", "request_admission_timeout"] as const) {
    it.effect(`with no Retry-After, a ${kind} retry is paced by the remaining cooldown`, () =>
      Effect.gen(function*() {
        const { cool, source } = yield* coolingSource
        let calls = 0
        const { events, result } = yield* runTest({
          rows: 1,
          bufferSize: 1,
          columns: [{
            name: "gen",
            strategy: "cell",
            scheduling: modelMetadata("prov", "model", "chat", 4),
            generate: () =>
              ++calls === 1
                ? Effect.sleep(40).pipe(Effect.andThen(cool), Effect.andThen(Effect.fail(failures[kind]())))
                : Effect.succeed({ gen: 1 })
          }]
        }, { requestCapacity: source })
        assert.strictEqual(result.rowsCompleted, 1)
        const deferred = events.find((e) => e._tag === "preserved_retryable")
        assert.isTrue(deferred?._tag === "preserved_retryable" && deferred.kind === kind)
        if (deferred?._tag === "preserved_retryable") assert.strictEqual(deferred.eligibleAt - deferred.at, 250)
      }))
  }
})
