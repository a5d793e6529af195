/**
 * Shared RPM / TPM budgets: several workers take from one pair of token buckets in Redis. Redis's clock is frozen
 * (the budget hash's `frozenNowMs`), so the counts below do not depend on how fast the machine runs.
 */
import { assert, describe, layer } from "@effect/vitest"
import { ReleaseOutcome } from "@sluice/request-admission"
import { requestResourceKey } from "@sluice/scheduling-resources"
import { Effect, Fiber, Layer } from "effect"
import * as Redis from "effect/persistence/Redis"
import { budgetKey, makeSharedRequestAdmission, type SharedRequestAdmissionShape } from "../src/index.js"
import { redisClient, RedisServer } from "./redisServer.js"

const resource = requestResourceKey("p", "m", "chat")
let counter = 0
const prefix = () => `b${++counter}:`

const TestLayer = redisClient.pipe(Layer.provideMerge(RedisServer.layer))

const worker = (
  keyPrefix: string,
  workerId: string,
  budget: { requestsPerMinute?: number; tokensPerMinute?: number },
  budgetBurstSeconds?: number
) =>
  makeSharedRequestAdmission(
    {
      models: [{ provider: "p", model: "m", maxParallelRequests: 50, ...budget }],
      slowStart: false,
      ...(budgetBurstSeconds === undefined ? {} : { budgetBurstSeconds })
    },
    { keyPrefix, workerId, pollSeconds: 0.02 }
  )

/** Freezes (or moves) Redis's clock as the budget scripts read it. */
const setRedisTime = (keyPrefix: string, ms: number) =>
  Effect.flatMap(Redis.Redis, (redis) => redis.send("HSET", budgetKey(keyPrefix, "p/m"), "frozenNowMs", String(ms)))

/** Waits until `count()` reaches `target`, then a little longer, and returns the count (which must not move on). */
const settledAt = (count: () => number, target: number) =>
  Effect.gen(function*() {
    for (let i = 0; i < 500 && count() < target; i++) yield* Effect.sleep(10)
    yield* Effect.sleep(300)
    return count()
  })

layer(TestLayer, { timeout: 60_000, excludeTestServices: true })("shared budgets", (it) => {
  describe("two workers, one budget", () => {
    it.effect("rpm = 120: together they send 120 at once, then 2 per second of Redis time, and not one more", () =>
      Effect.gen(function*() {
        const keyPrefix = prefix()
        yield* setRedisTime(keyPrefix, 1_000_000)
        const workers = yield* Effect.forEach(["w1", "w2"], (id) => worker(keyPrefix, id, { requestsPerMinute: 120 }))
        const sent = [0, 0]
        const fibers = yield* Effect.forEach([0, 1], (w) =>
          Effect.forEach(
            Array.from({ length: 100 }),
            () =>
              Effect.forkChild(workers[w]!.withLease({ resource }, () => Effect.sync(() => sent[w]!++)), {
                startImmediately: true
              })
          ))
        const total = () => sent[0]! + sent[1]!
        assert.strictEqual(yield* settledAt(total, 120), 120)
        assert.isAbove(sent[0]!, 0)
        assert.isAbove(sent[1]!, 0)
        // One second of Redis time refills two requests, whichever worker takes them.
        yield* setRedisTime(keyPrefix, 1_001_000)
        assert.strictEqual(yield* settledAt(total, 122), 122)
        yield* setRedisTime(keyPrefix, 1_011_000)
        assert.strictEqual(yield* settledAt(total, 142), 142)
        // Interrupted while waiting for budget: nothing taken, nothing held.
        yield* Fiber.interruptAll(fibers.flat())
        assert.strictEqual((yield* workers[0]!.budget(resource))!.requestsAvailable, 0)
        for (const w of workers) yield* assertNothingHeld(w)
      }))

    it.effect("a 10 s burst: rpm = 120 starts with 20 at once, refills 2 per second and never holds more than 10 s", () =>
      Effect.gen(function*() {
        const keyPrefix = prefix()
        yield* setRedisTime(keyPrefix, 2_000_000)
        const workers = yield* Effect.forEach(
          ["w1", "w2"],
          (id) => worker(keyPrefix, id, { requestsPerMinute: 120, tokensPerMinute: 6_000 }, 10)
        )
        assert.strictEqual((yield* workers[0]!.budget(resource))!.requestsAvailable, 20)
        assert.strictEqual((yield* workers[1]!.budget(resource))!.tokensAvailable, 1_000)
        let sent = 0
        const fibers = yield* Effect.forEach(
          Array.from({ length: 60 }),
          (_, i) =>
            Effect.forkChild(
              workers[i % 2]!.withLease({ resource, estimatedTokens: 10 }, () => Effect.sync(() => sent++)),
              {
                startImmediately: true
              }
            )
        )
        assert.strictEqual(yield* settledAt(() => sent, 20), 20)
        yield* setRedisTime(keyPrefix, 2_003_000)
        assert.strictEqual(yield* settledAt(() => sent, 26), 26)
        yield* Fiber.interruptAll(fibers)
        // A minute idle refills both buckets to their 10 s, not to a minute's worth.
        yield* setRedisTime(keyPrefix, 2_063_000)
        const refilled = (yield* workers[0]!.budget(resource))!
        assert.strictEqual(refilled.requestsAvailable, 20)
        assert.strictEqual(refilled.tokensAvailable, 1_000)
        for (const w of workers) yield* assertNothingHeld(w)
      }))

    it.effect("tokens: the usage one worker reports corrects the bucket the other one takes from", () =>
      Effect.gen(function*() {
        const keyPrefix = prefix()
        yield* setRedisTime(keyPrefix, 5_000_000)
        const [w1, w2] = yield* Effect.forEach(["w1", "w2"], (id) => worker(keyPrefix, id, { tokensPerMinute: 1000 }))
        yield* w1!.withLease({ resource, estimatedTokens: 800 }, () => Effect.void)
        assert.strictEqual((yield* w2!.budget(resource))!.tokensAvailable, 200)
        yield* w1!.withLease(
          { resource, estimatedTokens: 150 },
          (lease) => w1!.release(lease, ReleaseOutcome.withUsage(ReleaseOutcome.success, { totalTokens: 50 }))
        )
        // 200 − 150 + (150 − 50): the usage replaced the estimate.
        assert.strictEqual((yield* w2!.budget(resource))!.tokensAvailable, 150)
        const waiting = yield* Effect.forkChild(w2!.withLease({ resource, estimatedTokens: 400 }, () => Effect.void), {
          startImmediately: true
        })
        yield* Effect.sleep(200)
        assert.isUndefined(waiting.pollUnsafe(), "400 tokens are not there")
        // 250 tokens at 1000 per minute: 15 s of Redis time.
        yield* setRedisTime(keyPrefix, 5_015_000)
        yield* Fiber.join(waiting)
        assert.strictEqual((yield* w2!.budget(resource))!.tokensAvailable, 0)
        yield* assertNothingHeld(w1!)
        yield* assertNothingHeld(w2!)
      }))
  })
})

const assertNothingHeld = (admission: SharedRequestAdmissionShape) =>
  Effect.gen(function*() {
    const state = yield* admission.shared.state(resource)
    assert.strictEqual(state.inFlight, 0)
    assert.strictEqual(yield* admission.shared.held, 0)
    assert.strictEqual((yield* admission.local.inspect).activeLeases, 0)
  })
