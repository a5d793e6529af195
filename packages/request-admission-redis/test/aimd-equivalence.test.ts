/**
 * The shared limit follows the in-process controller's AIMD exactly: the same random sequence of acquires,
 * releases with random outcomes (success, 429 with and without Retry-After, 5xx, timeouts, local cancels) and
 * clock advances goes through `@sluice/request-admission` on `TestClock` and through the Redis scripts (whose
 * clock the test freezes and moves in step), and after every step both report the same limit, the same cooldown
 * and the same admission decisions. Ramp, slow start and half-open probes are off: the shared table has none.
 *
 * The seed changes on every run and is printed; `SLUICE_PROPERTY_SEED=<seed>` replays a run and
 * `SLUICE_PROPERTY_RUNS=<n>` changes the number of cases.
 */
import { assert, layer } from "@effect/vitest"
import { make as makeLocal, type ReleaseOutcome, type RequestLease } from "@sluice/request-admission"
import { requestResourceKey } from "@sluice/scheduling-resources"
import { Effect, Layer, Scope } from "effect"
import * as Redis from "effect/persistence/Redis"
import { TestClock } from "effect/testing"
import fc from "fast-check"
import { type AimdParams, makeLeaseStore } from "../src/index.js"
import { redisClient, RedisServer } from "./redisServer.js"

const resource = requestResourceKey("p", "m", "chat")
const T0 = 1_000_000_000

type Command =
  | { readonly _tag: "acquire" }
  | { readonly _tag: "release"; readonly pick: number; readonly outcome: ReleaseOutcome }
  | { readonly _tag: "advance"; readonly ms: number }

const outcome: fc.Arbitrary<ReleaseOutcome> = fc.oneof(
  { weight: 8, arbitrary: fc.constant<ReleaseOutcome>({ kind: "success" }) },
  {
    weight: 3,
    arbitrary: fc.option(fc.constantFrom(0, 0.5, 1, 3), { nil: undefined }).map((s): ReleaseOutcome =>
      s === undefined ? { kind: "rate_limited" } : { kind: "rate_limited", retryAfterSeconds: s }
    )
  },
  { weight: 1, arbitrary: fc.constant<ReleaseOutcome>({ kind: "provider_failure", status: 503 }) },
  { weight: 1, arbitrary: fc.constant<ReleaseOutcome>({ kind: "provider_timeout" }) },
  { weight: 1, arbitrary: fc.constant<ReleaseOutcome>({ kind: "local_cancelled" }) }
)

const command: fc.Arbitrary<Command> = fc.oneof(
  { weight: 4, arbitrary: fc.constant<Command>({ _tag: "acquire" }) },
  { weight: 4, arbitrary: fc.record({ _tag: fc.constant("release" as const), pick: fc.nat(), outcome }) },
  {
    weight: 1,
    arbitrary: fc.record({ _tag: fc.constant("advance" as const), ms: fc.constantFrom(250, 500, 1000, 2000) })
  }
)

const scenario = fc.record({
  cap: fc.integer({ min: 1, max: 10 }),
  initial: fc.integer({ min: 1, max: 10 }),
  successesUntilIncrease: fc.integer({ min: 1, max: 4 }),
  cooldownSeconds: fc.constantFrom(1, 2),
  decreaseToInFlight: fc.boolean(),
  ceilingProbeBackoff: fc.boolean(),
  commands: fc.array(command, { minLength: 1, maxLength: 60 })
})
type Scenario = typeof scenario extends fc.Arbitrary<infer A> ? A : never

let caseNumber = 0

/** Runs one scenario through both; fails with the first step where they differ. */
const run = (input: Scenario, redis: Redis.Redis["Service"]) =>
  Effect.gen(function*() {
    const scope = yield* Effect.scope
    const initial = Math.min(input.initial, input.cap)
    const local = yield* makeLocal({
      models: [{ provider: "p", model: "m", maxParallelRequests: input.cap }],
      initialLimits: { "p/m/chat": initial },
      slowStart: false,
      halfOpenCooldown: false,
      startupRampSeconds: 0,
      decreaseToInFlight: input.decreaseToInFlight,
      ceilingProbeBackoff: input.ceilingProbeBackoff,
      successesUntilIncrease: input.successesUntilIncrease,
      cooldownSeconds: input.cooldownSeconds
    }).pipe(Effect.orDie)
    const store = makeLeaseStore(redis, { keyPrefix: `aimd${++caseNumber}:`, commandTimeoutMs: 60_000 })
    const keys = store.keys(resource)
    const params: AimdParams = {
      max: input.cap,
      initial,
      decreaseFactor: 0.75,
      additiveIncreaseStep: 1,
      successesUntilIncrease: input.successesUntilIncrease,
      cooldownMs: input.cooldownSeconds * 1000,
      decreaseToInFlight: input.decreaseToInFlight,
      ceilingProbeBackoff: input.ceilingProbeBackoff
    }
    let now = 0
    yield* redis.send("HSET", keys.state, "frozenNowMs", String(T0))
    const held: Array<{ readonly local: RequestLease; readonly shared: string }> = []
    const trace: Array<string> = []
    for (const [step, c] of input.commands.entries()) {
      if (c._tag === "acquire") {
        const localGrant = yield* Effect.result(Scope.provide(local.tryAcquire({ resource }), scope))
        const sharedGrant = yield* store.acquire(resource, "w", 1, 1e12, params, 1)
        const granted = localGrant._tag === "Success"
        if (granted !== (sharedGrant.granted.length === 1)) {
          return yield* Effect.die(
            `step ${step}: local ${granted ? "granted" : "denied"}, shared granted ${sharedGrant.granted.length}`
          )
        }
        if (localGrant._tag === "Success") held.push({ local: localGrant.success, shared: sharedGrant.granted[0]! })
      } else if (c._tag === "release") {
        if (held.length === 0) continue
        const [lease] = held.splice(c.pick % held.length, 1)
        yield* local.release(lease!.local, c.outcome)
        const reply = yield* store.release(resource, lease!.shared, c.outcome, params)
        if (!reply.released) return yield* Effect.die(`step ${step}: the shared release was stale`)
      } else {
        now += c.ms
        yield* TestClock.adjust(c.ms)
        yield* redis.send("HSET", keys.state, "frozenNowMs", String(T0 + now))
      }
      const pressure = yield* local.pressure(resource).pipe(Effect.orDie)
      const state = yield* store.state(resource)
      // A resource nobody acquired yet has no state: it starts at the initial limit.
      const sharedLimit = state.limit ?? initial
      const localCooling = pressure.blockedUntilMillis === null ? null : pressure.blockedUntilMillis
      const sharedCooling = state.blockedUntilMillis > T0 + now ? state.blockedUntilMillis - T0 : null
      trace.push(`${pressure.currentLimit}${localCooling === null ? "" : `~${localCooling}`}`)
      if (
        pressure.currentLimit !== sharedLimit || localCooling !== sharedCooling ||
        pressure.inFlight !== state.inFlight
      ) {
        return yield* Effect.die(
          `step ${step} (${JSON.stringify(c)}): local limit ${pressure.currentLimit} cooling until ${localCooling} ` +
            `in flight ${pressure.inFlight}; shared limit ${sharedLimit} cooling until ${sharedCooling} in flight ` +
            `${state.inFlight}; trace ${trace.join(" ")}`
        )
      }
    }
    return trace
  }).pipe(Effect.scoped, Effect.provide(TestClock.layer()))

const seed = process.env["SLUICE_PROPERTY_SEED"] === undefined
  ? (Date.now() ^ (Math.random() * 0x7fffffff)) | 0
  : Number(process.env["SLUICE_PROPERTY_SEED"])
const numRuns = Number(process.env["SLUICE_PROPERTY_RUNS"] ?? 150)

const TestLayer = redisClient.pipe(Layer.provideMerge(RedisServer.layer))

layer(TestLayer, { timeout: 60_000, excludeTestServices: true })("AIMD equivalence", (it) => {
  it.effect(
    `the Redis scripts give the in-process controller's limit trace (seed ${seed})`,
    () =>
      Effect.gen(function*() {
        const redis = yield* Redis.Redis
        console.log(`property seed ${seed}, ${numRuns} cases (replay: SLUICE_PROPERTY_SEED=${seed})`)
        let decreases = 0
        let increases = 0
        yield* Effect.promise(() =>
          fc.assert(
            fc.asyncProperty(scenario, (input) =>
              Effect.runPromise(run(input, redis)).then((trace) => {
                const limits = trace.map((t) => Number(t.split("~")[0]))
                for (let i = 1; i < limits.length; i++) {
                  if (limits[i]! < limits[i - 1]!) decreases++
                  if (limits[i]! > limits[i - 1]!) increases++
                }
              })),
            { numRuns, seed }
          )
        )
        // The sequences reach both directions of AIMD (a property that never moves the limit proves nothing).
        assert.isAbove(decreases, 0)
        assert.isAbove(increases, 0)
      }),
    120_000
  )
})
