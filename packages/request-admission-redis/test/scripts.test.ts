/**
 * The lease table's scripts, called directly, on a private Redis whose clock each test freezes (the state field
 * `frozenNowMs`) so that TTLs and cooldowns are exact.
 */
import { assert, describe, layer } from "@effect/vitest"
import { requestResourceKey } from "@sluice/scheduling-resources"
import { Effect, Layer } from "effect"
import * as Redis from "effect/persistence/Redis"
import { type AimdParams, makeLeaseStore } from "../src/index.js"
import { redisClient, RedisServer } from "./redisServer.js"

const T0 = 1_000_000_000
let counter = 0

const aimd = (max: number, overrides: Partial<AimdParams> = {}): AimdParams => ({
  max,
  initial: max,
  decreaseFactor: 0.75,
  additiveIncreaseStep: 1,
  successesUntilIncrease: 25,
  cooldownMs: 2000,
  decreaseToInFlight: false,
  ceilingProbeBackoff: true,
  ...overrides
})

/** A store over a fresh key prefix, and a clock setter for its one resource. */
const fixture = Effect.gen(function*() {
  const redis = yield* Redis.Redis
  const store = makeLeaseStore(redis, { keyPrefix: `t${++counter}:`, commandTimeoutMs: 5000 })
  const resource = requestResourceKey("p", "m", "chat")
  const keys = store.keys(resource)
  const at = (ms: number) => redis.send("HSET", keys.state, "frozenNowMs", String(T0 + ms))
  yield* at(0)
  return { redis, store, resource, keys, at }
})

const TestLayer = redisClient.pipe(Layer.provideMerge(RedisServer.layer))

layer(TestLayer, { timeout: 30_000 })("lease scripts", (it) => {
  describe("acquire", () => {
    it.effect("grants up to want, never past the limit, in one reply", () =>
      Effect.gen(function*() {
        const { store, resource } = yield* fixture
        const first = yield* store.acquire(resource, "a", 10, 1000, aimd(4), 500)
        assert.strictEqual(first.granted.length, 4)
        assert.strictEqual(first.limit, 4)
        assert.strictEqual(first.inFlight, 4)
        assert.deepStrictEqual(first.granted.map((m) => m.split("|")[2]), ["4", "4", "4", "4"])
        const second = yield* store.acquire(resource, "a", 1, 1000, aimd(4), 500)
        assert.strictEqual(second.granted.length, 0)
        assert.strictEqual(second.waitMs, 0)
      }))

    it.effect("starts at the initial limit and clamps to a lowered static cap", () =>
      Effect.gen(function*() {
        const { store, resource } = yield* fixture
        const first = yield* store.acquire(resource, "a", 10, 1000, aimd(8, { initial: 3 }), 500)
        assert.strictEqual(first.granted.length, 3)
        const lowered = yield* store.acquire(resource, "a", 10, 1000, aimd(2, { initial: 2 }), 500)
        assert.strictEqual(lowered.limit, 2)
        assert.strictEqual(lowered.granted.length, 0)
      }))

    it.effect("caps a worker at its fair share while another waits", () =>
      Effect.gen(function*() {
        const { store, resource } = yield* fixture
        const a = yield* store.acquire(resource, "a", 8, 10_000, aimd(8), 500)
        assert.strictEqual(a.granted.length, 8)
        // b gets nothing and now counts as waiting.
        assert.strictEqual((yield* store.acquire(resource, "b", 4, 10_000, aimd(8), 500)).granted.length, 0)
        for (const member of a.granted.slice(0, 4)) yield* store.release(resource, member, { kind: "success" }, aimd(8))
        // a holds 4 = ceil(8 / 2): nothing more for a while b waits …
        assert.strictEqual((yield* store.acquire(resource, "a", 4, 10_000, aimd(8), 500)).granted.length, 0)
        // … and b takes the four free ones.
        assert.strictEqual((yield* store.acquire(resource, "b", 4, 10_000, aimd(8), 500)).granted.length, 4)
      }))

    it.effect("a release wakes the waiting worker furthest below its share, one per free slot", () =>
      Effect.gen(function*() {
        const { store, resource } = yield* fixture
        const a = yield* store.acquire(resource, "a", 4, 10_000, aimd(4), 500)
        assert.strictEqual((yield* store.acquire(resource, "b", 2, 10_000, aimd(4), 500)).granted.length, 0)
        assert.strictEqual((yield* store.acquire(resource, "c", 2, 10_000, aimd(4), 500)).granted.length, 0)
        const first = yield* store.release(resource, a.granted[0]!, { kind: "success" }, aimd(4))
        assert.deepStrictEqual(first.woken, ["b"])
        assert.strictEqual((yield* store.acquire(resource, "b", 2, 10_000, aimd(4), 500)).granted.length, 1)
        // b now holds one, c none: c is next.
        const second = yield* store.release(resource, a.granted[1]!, { kind: "success" }, aimd(4))
        assert.deepStrictEqual(second.woken, ["c"])
        // Two free slots (nobody took the last one yet): two workers woken.
        const third = yield* store.release(resource, a.granted[2]!, { kind: "success" }, aimd(4))
        assert.deepStrictEqual(third.woken, ["c", "b"])
      }))

    it.effect("a waiting entry expires: a worker that stopped asking no longer shrinks the others' share", () =>
      Effect.gen(function*() {
        const { store, resource, at } = yield* fixture
        const a = yield* store.acquire(resource, "a", 4, 10_000, aimd(4), 500)
        assert.strictEqual((yield* store.acquire(resource, "b", 4, 10_000, aimd(4), 500)).granted.length, 0)
        for (const member of a.granted) yield* store.release(resource, member, { kind: "success" }, aimd(4))
        yield* at(501)
        assert.strictEqual((yield* store.acquire(resource, "a", 4, 10_000, aimd(4), 500)).granted.length, 4)
      }))
  })

  describe("release and AIMD", () => {
    it.effect("a 429 multiplies the limit by 0.75 once per cascade and starts the default cooldown", () =>
      Effect.gen(function*() {
        const { store, resource, at } = yield* fixture
        const { granted } = yield* store.acquire(resource, "a", 8, 60_000, aimd(8), 500)
        const first = yield* store.release(resource, granted[0]!, { kind: "rate_limited" }, aimd(8))
        assert.isTrue(first.released)
        assert.strictEqual(first.limit, 6)
        assert.strictEqual(first.blockedUntilMillis, T0 + 2000)
        // Admitted at 8 > 6: part of the same cascade, no second decrease.
        const second = yield* store.release(resource, granted[1]!, { kind: "rate_limited" }, aimd(8))
        assert.strictEqual(second.limit, 6)
        const cooling = yield* store.acquire(resource, "a", 1, 60_000, aimd(8), 500)
        assert.strictEqual(cooling.granted.length, 0)
        assert.strictEqual(cooling.waitMs, 2000)
        yield* at(1999)
        assert.strictEqual((yield* store.acquire(resource, "a", 1, 60_000, aimd(8), 500)).granted.length, 0)
        yield* at(2000)
        for (const member of granted.slice(2)) yield* store.release(resource, member, { kind: "success" }, aimd(8))
        assert.strictEqual((yield* store.acquire(resource, "a", 10, 60_000, aimd(8), 500)).granted.length, 6)
      }))

    it.effect("Retry-After sets the cooldown, and a later 429 never shortens it", () =>
      Effect.gen(function*() {
        const { store, resource } = yield* fixture
        const { granted } = yield* store.acquire(resource, "a", 2, 60_000, aimd(8), 500)
        const long = yield* store.release(
          resource,
          granted[0]!,
          { kind: "rate_limited", retryAfterSeconds: 7.5 },
          aimd(8)
        )
        assert.strictEqual(long.blockedUntilMillis, T0 + 7500)
        const short = yield* store.release(
          resource,
          granted[1]!,
          { kind: "rate_limited", retryAfterSeconds: 1 },
          aimd(8)
        )
        assert.strictEqual(short.blockedUntilMillis, T0 + 7500)
      }))

    it.effect("a 429 with decreaseToInFlight lowers the limit to what was in flight", () =>
      Effect.gen(function*() {
        const { store, resource } = yield* fixture
        const params = aimd(16, { decreaseToInFlight: true })
        const { granted } = yield* store.acquire(resource, "a", 4, 60_000, params, 500)
        const reply = yield* store.release(resource, granted[0]!, { kind: "rate_limited" }, params)
        assert.strictEqual(reply.limit, 3)
      }))

    it.effect("+1 per 25 successes outside a cooldown, clamped to the static cap", () =>
      Effect.gen(function*() {
        const { store, resource } = yield* fixture
        const params = aimd(5, { initial: 4 })
        let limit = 0
        for (let i = 0; i < 75; i++) {
          const { granted } = yield* store.acquire(resource, "a", 1, 60_000, params, 500)
          limit = (yield* store.release(resource, granted[0]!, { kind: "success" }, params)).limit
          if (i === 23) assert.strictEqual(limit, 4)
          if (i === 24) assert.strictEqual(limit, 5)
        }
        assert.strictEqual(limit, 5)
      }))

    it.effect("provider failures reset the success streak; local outcomes change nothing", () =>
      Effect.gen(function*() {
        const { store, resource } = yield* fixture
        const params = aimd(8, { initial: 4, successesUntilIncrease: 3 })
        const once = (outcome: Parameters<typeof store.release>[2]) =>
          Effect.flatMap(
            store.acquire(resource, "a", 1, 60_000, params, 500),
            ({ granted }) => store.release(resource, granted[0]!, outcome, params)
          )
        yield* once({ kind: "success" })
        yield* once({ kind: "success" })
        yield* once({ kind: "provider_failure" })
        yield* once({ kind: "success" })
        yield* once({ kind: "local_cancelled" })
        assert.strictEqual((yield* once({ kind: "success" })).limit, 4)
        assert.strictEqual((yield* once({ kind: "success" })).limit, 5)
      }))
  })

  describe("loading", () => {
    it.effect("scripts run by EVALSHA and are loaded again after Redis forgot them (NOSCRIPT)", () =>
      Effect.gen(function*() {
        const { redis, store, resource } = yield* fixture
        assert.strictEqual((yield* store.acquire(resource, "a", 1, 1000, aimd(4), 500)).granted.length, 1)
        yield* redis.send("SCRIPT", "FLUSH")
        assert.strictEqual((yield* store.acquire(resource, "a", 1, 1000, aimd(4), 500)).granted.length, 1)
      }))
  })

  describe("leases with a TTL", () => {
    it.effect("a crashed worker's leases expire and are reaped; its late release is stale and changes no limit", () =>
      Effect.gen(function*() {
        const { store, resource, at } = yield* fixture
        const crashed = yield* store.acquire(resource, "crashed", 3, 1000, aimd(4), 500)
        assert.strictEqual(crashed.granted.length, 3)
        yield* at(999)
        assert.strictEqual((yield* store.acquire(resource, "b", 4, 1000, aimd(4), 500)).granted.length, 1)
        yield* at(1000)
        const after = yield* store.acquire(resource, "b", 4, 1000, aimd(4), 500)
        assert.strictEqual(after.granted.length, 3)
        const state = yield* store.state(resource)
        assert.deepStrictEqual(state.holders, { b: 4 })
        const late = yield* store.release(resource, crashed.granted[0]!, { kind: "rate_limited" }, aimd(4))
        assert.isFalse(late.released)
        assert.strictEqual(late.limit, 4)
        assert.strictEqual(late.blockedUntilMillis, 0)
      }))

    it.effect("one heartbeat renews every lease of a worker; an expired lease is reported lost, never revived", () =>
      Effect.gen(function*() {
        const { store, resource, keys, at } = yield* fixture
        const { granted } = yield* store.acquire(resource, "a", 2, 1000, aimd(4), 500)
        yield* at(600)
        assert.deepStrictEqual(yield* store.heartbeat(1000, [{ keys, members: granted }]), [])
        yield* at(1500)
        assert.strictEqual((yield* store.state(resource)).inFlight, 2)
        yield* at(1600)
        assert.deepStrictEqual(
          [...(yield* store.heartbeat(1000, [{ keys, members: granted }]))].sort(),
          [...granted].sort()
        )
        assert.strictEqual((yield* store.acquire(resource, "b", 4, 1000, aimd(4), 500)).granted.length, 4)
      }))

    it.effect("a lease is released once: the second release is stale", () =>
      Effect.gen(function*() {
        const { store, resource } = yield* fixture
        const { granted } = yield* store.acquire(resource, "a", 1, 1000, aimd(4), 500)
        assert.isTrue((yield* store.release(resource, granted[0]!, { kind: "success" }, aimd(4))).released)
        assert.isFalse((yield* store.release(resource, granted[0]!, { kind: "rate_limited" }, aimd(4))).released)
        assert.strictEqual((yield* store.state(resource)).limit, 4)
      }))
  })
})
