/**
 * Random interleavings through the production paths: scoped acquires, tries, `withLease` (hot path included),
 * executor attempts (success, 429 with and without Retry-After, 5xx, timeouts, connection failures, defects),
 * releases with every outcome, interruptions at random points (queued, holding, between the grant and the
 * waiter's resume, during a release), static-cap changes, shutdown and clock advances — on `TestClock`, with a
 * random scheduler yield budget so that fibers interleave between the controller's steps and its semaphore
 * operations.
 *
 * After every step the controller's invariants hold (nothing admitted past a limit, counts consistent, the
 * semaphores' free permits equal to their size minus the leases in flight, no idle capacity while an open
 * domain has waiters, a try never ahead of an eligible waiter); once everything settles nothing is left: no
 * lease, no waiter, every semaphore back to its full size; no lease is granted twice; and two groups backlogged
 * together are served in proportion to their weights (start-time fair queueing's bound).
 *
 * The seed changes on every run and is printed; `SLUICE_PROPERTY_SEED=<seed>` replays a run,
 * `SLUICE_PROPERTY_RUNS=<n>` changes the number of cases, `SLUICE_PROPERTY_CASE='<counterexample>'` runs one
 * case as printed, and `SLUICE_PROPERTY_TRACE=1` logs its steps.
 */
import { assert, it } from "@effect/vitest"
import { ProviderError } from "@sluice/errors"
import { requestResourceKey } from "@sluice/scheduling-resources"
import { Deferred, Effect, Exit, Fiber, Layer, Scheduler, Scope, Stream } from "effect"
import { TestClock } from "effect/testing"
import fc from "fast-check"
import { internalsOf } from "../src/internal/AdmissionInternals.js"
import {
  makeExecutor,
  ReleaseOutcome,
  RequestAdmission,
  type RequestAdmissionShape,
  type RequestEvent,
  type RequestLease
} from "../src/index.js"

const domains = ["chat", "embedding"] as const
const resources = domains.map((d) => requestResourceKey("p", "m", d))
const GROUPS = 3

// ---------------------------------------------------------------- commands

/** How a holder ends: a release outcome, or (for `withLease`) the way `use` ends. */
type Finish =
  | { readonly _tag: "outcome"; readonly outcome: ReleaseOutcome }
  | { readonly _tag: "fail" }
  | { readonly _tag: "die" }

/** One provider attempt of an executor request. */
type Attempt =
  | "ok"
  | "429"
  | "429-retry-after"
  | "502"
  | "503"
  | "500"
  | "timeout"
  | "connection"
  | "defect"

type Command =
  | {
    readonly _tag: "acquire" | "withLease"
    readonly domain: number
    readonly group: number
    readonly timeout: number | null | undefined
    /** `withLease` only: `use` releases the lease itself with the finish's outcome. */
    readonly explicit: boolean
  }
  | { readonly _tag: "try"; readonly domain: number }
  | {
    readonly _tag: "execute"
    readonly domain: number
    readonly group: number
    readonly attempts: ReadonlyArray<Attempt>
    readonly latencyMs: number
  }
  | { readonly _tag: "finish"; readonly pick: number; readonly finish: Finish }
  /** Finish a holder, then interrupt it after a few yields: before, during or after its release. */
  | { readonly _tag: "finishThenInterrupt"; readonly pick: number; readonly finish: Finish; readonly yields: number }
  /** Finish a holder (its release hands the lease to a waiter), then interrupt a waiter before it resumes. */
  | { readonly _tag: "finishThenInterruptWaiter"; readonly pick: number; readonly victim: number }
  | { readonly _tag: "interrupt"; readonly pick: number }
  | { readonly _tag: "advance"; readonly ms: number }
  | { readonly _tag: "cap"; readonly alias: number; readonly cap: number }

const outcome: fc.Arbitrary<ReleaseOutcome> = fc.oneof(
  { weight: 6, arbitrary: fc.constant(ReleaseOutcome.success) },
  {
    weight: 2,
    arbitrary: fc.option(fc.constantFrom(0, 0.2, 1, 3), { nil: undefined }).map((s) => ReleaseOutcome.rateLimited(s))
  },
  { weight: 1, arbitrary: fc.constantFrom(502, 500, 503).map((s) => ReleaseOutcome.providerFailure(s)) },
  { weight: 1, arbitrary: fc.constant(ReleaseOutcome.providerTimeout) },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      ReleaseOutcome.localCancelled,
      ReleaseOutcome.localTimeout,
      ReleaseOutcome.unexpectedException
    )
  }
)

const finish: fc.Arbitrary<Finish> = fc.oneof(
  { weight: 8, arbitrary: outcome.map((o): Finish => ({ _tag: "outcome", outcome: o })) },
  { weight: 1, arbitrary: fc.constant<Finish>({ _tag: "fail" }) },
  { weight: 1, arbitrary: fc.constant<Finish>({ _tag: "die" }) }
)

const attempt: fc.Arbitrary<Attempt> = fc.constantFrom(
  "ok",
  "ok",
  "ok",
  "429",
  "429-retry-after",
  "502",
  "503",
  "500",
  "timeout",
  "connection",
  "defect"
)

const timeout = fc.oneof(
  { weight: 3, arbitrary: fc.constant(undefined) },
  { weight: 2, arbitrary: fc.constant(null) },
  { weight: 2, arbitrary: fc.constantFrom(0, 0.05, 0.5, 2) }
)

const command: fc.Arbitrary<Command> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({
      _tag: fc.constantFrom("acquire" as const, "withLease" as const),
      domain: fc.nat(1),
      group: fc.nat(GROUPS - 1),
      timeout,
      explicit: fc.boolean()
    })
  },
  { weight: 1, arbitrary: fc.record({ _tag: fc.constant("try" as const), domain: fc.nat(1) }) },
  {
    weight: 2,
    arbitrary: fc.record({
      _tag: fc.constant("execute" as const),
      domain: fc.nat(1),
      group: fc.nat(GROUPS - 1),
      attempts: fc.array(attempt, { minLength: 1, maxLength: 3 }),
      latencyMs: fc.integer({ min: 1, max: 400 })
    })
  },
  { weight: 5, arbitrary: fc.record({ _tag: fc.constant("finish" as const), pick: fc.nat(), finish }) },
  {
    weight: 1,
    arbitrary: fc.record({
      _tag: fc.constant("finishThenInterrupt" as const),
      pick: fc.nat(),
      finish,
      yields: fc.nat(3)
    })
  },
  {
    weight: 2,
    arbitrary: fc.record({
      _tag: fc.constant("finishThenInterruptWaiter" as const),
      pick: fc.nat(),
      victim: fc.nat()
    })
  },
  { weight: 1, arbitrary: fc.record({ _tag: fc.constant("interrupt" as const), pick: fc.nat() }) },
  { weight: 3, arbitrary: fc.record({ _tag: fc.constant("advance" as const), ms: fc.integer({ min: 1, max: 2500 }) }) },
  {
    weight: 1,
    arbitrary: fc.record({ _tag: fc.constant("cap" as const), alias: fc.nat(1), cap: fc.integer({ min: 1, max: 5 }) })
  }
)

const scenario = fc.record({
  /** Domains in use: with one, every flow is eligible whenever another is, and the fair-queueing bound applies. */
  domains: fc.constantFrom(1, 2),
  cap: fc.integer({ min: 1, max: 4 }),
  successesUntilIncrease: fc.integer({ min: 1, max: 3 }),
  decreaseFactor: fc.constantFrom(0.5, 0.75),
  decreaseToInFlight: fc.boolean(),
  slowStart: fc.boolean(),
  weights: fc.array(fc.constantFrom(1, 2, 0.5, 3), { minLength: GROUPS, maxLength: GROUPS }),
  /**
   * Scheduler yield budget: small values interleave fibers between almost every operation (below 3 the runtime
   * makes no progress: a resumed fiber yields again before its next operation).
   */
  yieldEvery: fc.oneof({ weight: 1, arbitrary: fc.integer({ min: 4, max: 32 }) }, {
    weight: 2,
    arbitrary: fc.constant(2048)
  }),
  /** An RPM / TPM budget on the model in about a third of the cases (items are charged 100 tokens each). */
  budget: fc.option(
    fc.record({
      requestsPerMinute: fc.constantFrom(6, 20, 120),
      tokensPerMinute: fc.option(fc.constantFrom(3000, 60_000), { nil: undefined })
    }),
    { freq: 2, nil: null }
  ),
  commands: fc.array(command, { minLength: 8, maxLength: 30 }),
  /** In about a quarter of the cases the controller shuts down before this command (and admits nothing after). */
  shutdownAt: fc.option(fc.nat(30), { freq: 3, nil: null })
})

type Scenario = typeof scenario extends fc.Arbitrary<infer A> ? A : never

// ---------------------------------------------------------------- the run

interface Holder {
  readonly kind: "acquire" | "withLease" | "execute" | "try"
  fiber: Fiber.Fiber<unknown, unknown>
  readonly done: Deferred.Deferred<Finish>
  /** Leases this holder received, in order (an executor may get one per attempt). */
  readonly leases: Array<RequestLease>
  scope?: Scope.Closeable | undefined
}

/** Steps that saw a half-open cooldown, and hand-offs interrupted before resuming, over all runs. */
const reached = { halfOpen: 0, grantedThenInterrupted: 0, executorRetries: 0, shutdowns: 0, budgetWaits: 0 }

const providerError = (a: Exclude<Attempt, "ok" | "defect">) => {
  const base = { message: `fake ${a}`, provider: "p", model: "m" }
  switch (a) {
    case "429":
      return new ProviderError({ ...base, kind: "rate_limit", status: 429 })
    case "429-retry-after":
      return new ProviderError({ ...base, kind: "rate_limit", status: 429, retryAfterSeconds: 1 })
    case "502":
    case "503":
    case "500":
      return new ProviderError({ ...base, kind: "internal_server", status: Number(a) })
    case "timeout":
      return new ProviderError({ ...base, kind: "timeout" })
    case "connection":
      return new ProviderError({ ...base, kind: "api_connection" })
  }
}

/**
 * Lets hand-offs, wake-ups, timers and interleaved fibers run to rest: turns until every semaphore agrees with the
 * leases in flight (bounded: a leak or a lost wake-up stays, and the checks then fail). With a small yield budget
 * a chain of operations takes many turns.
 */
const quiesceFor = (admission: RequestAdmissionShape, yieldEvery: number) => {
  const internals = internalsOf(admission)!
  const turns = yieldEvery >= 2048 ? 4 : 8
  const atRest = Effect.gen(function*() {
    const permits = yield* internals.permits
    const pressures = yield* admission.pressures
    const inFlight = new Map(
      pressures.map((p) => [`${p.resource.provider}/${p.resource.model}/${p.resource.domain}`, p.inFlight])
    )
    let pool = 0
    for (const p of pressures) pool += p.inFlight
    return permits.pools.every((p) => p.resizing === 0 && p.free === p.size - pool) &&
      permits.domains.every((d) => d.resizing === 0 && d.free === d.size - (inFlight.get(d.label) ?? 0))
  })
  return Effect.gen(function*() {
    for (let round = 0; round < 60; round++) {
      for (let i = 0; i < turns; i++) yield* Effect.yieldNow
      if (round >= 1 && (yield* atRest)) return
    }
  })
}

const run = (input: Scenario) =>
  Effect.gen(function*() {
    const admission = yield* RequestAdmission
    const internals = internalsOf(admission)!
    const quiesce = quiesceFor(admission, input.yieldEvery)
    const executor = makeExecutor(admission)
    const holders: Array<Holder> = []
    const granted = new Set<number>()
    const events: Array<RequestEvent> = []
    yield* admission.events.pipe(
      Stream.runForEach((event) => Effect.sync(() => events.push(event))),
      Effect.forkChild({ startImmediately: true })
    )
    yield* quiesce
    let previous = new Map<string, number>()
    let previousBlockedUntil = new Map<string, number | undefined>()
    let previousWindow = new Map<string, number | undefined>()
    let previousAggregate = 0

    const got = (holder: Holder, lease: RequestLease) =>
      Effect.sync(() => {
        assert.isFalse(granted.has(lease.id), `lease ${lease.id} granted twice`)
        granted.add(lease.id)
        holder.leases.push(lease)
      })

    const finishUse = (finish: Finish, lease: RequestLease, explicit: boolean): Effect.Effect<void, string> => {
      switch (finish._tag) {
        case "outcome":
          return explicit ? Effect.asVoid(admission.release(lease, finish.outcome)) : Effect.void
        case "fail":
          return Effect.fail("use failed")
        case "die":
          return Effect.die("use died")
      }
    }

    const spawn = (holder: Omit<Holder, "fiber">, body: Effect.Effect<unknown, unknown>) =>
      Effect.gen(function*() {
        const full = holder as Holder
        holders.push(full)
        full.fiber = yield* Effect.forkChild(body, { startImmediately: true })
      })

    const live = (predicate: (h: Holder) => boolean) =>
      holders.filter((h) => h.fiber.pollUnsafe() === undefined && predicate(h))

    /** Holders holding a lease they have not released (they wait for their `done`). */
    const holding = () => live((h) => h.kind !== "execute" && h.leases.length > 0)

    const signal = (holder: Holder, f: Finish) =>
      Effect.gen(function*() {
        if (holder.kind === "try") {
          const scope = holder.scope
          if (scope === undefined) return
          holder.scope = undefined
          if (f._tag === "outcome") yield* admission.release(holder.leases[0]!, f.outcome)
          yield* Scope.close(scope, Exit.void)
          // Its stand-in fiber ends with the scope.
          yield* Fiber.interrupt(holder.fiber)
        } else {
          yield* Deferred.succeed(holder.done, f)
        }
      })

    const check = (step: string) =>
      Effect.gen(function*() {
        yield* quiesce
        const pm = yield* admission.providerModelPressure(resources[0]!)
        const view = yield* admission.inspect
        const permits = yield* internals.permits
        let sumInFlight = 0
        let sumWaiters = 0
        const now = new Map<string, number>()
        const blockedUntil = new Map<string, number | undefined>()
        const window = new Map<string, number | undefined>()
        for (const r of resources) {
          const p = yield* admission.pressure(r)
          const key = r.domain
          assert.isAtLeast(p.inFlight, 0, step)
          assert.isAtLeast(p.waiters, 0, step)
          assert.isAtLeast(p.currentLimit, 1, step)
          assert.isAtMost(p.currentLimit, p.effectiveMax, step)
          assert.isAtMost(p.effectiveMax, pm.staticCap, step)
          // (that nothing is admitted past the limit is checked per admission, against the limit of its moment)
          // slow start: in flight ≤ window ≤ limit while a window holds since the last step (it only grows then;
          // leases admitted before a cap change may stay above it)
          if (p.slowStartWindow !== null) {
            assert.isAtMost(p.slowStartWindow, p.currentLimit, step)
            if (previousWindow.get(key) !== undefined) {
              assert.isTrue(
                p.inFlight <= p.slowStartWindow || p.inFlight <= (previous.get(key) ?? 0),
                `${step}: ${key} over window`
              )
            }
          }
          window.set(key, p.slowStartWindow ?? undefined)
          // cooling since the last step (the same cooldown, maybe extended, never lapsed): nothing is admitted but
          // the one probe of a half-open cooldown (in flight ≤ before + 1)
          const wasBlockedUntil = previousBlockedUntil.get(key)
          if (
            p.blockedUntilMillis !== null && wasBlockedUntil !== undefined && wasBlockedUntil > p.capturedAtMillis
          ) {
            assert.isAtMost(p.inFlight, (previous.get(key) ?? 0) + 1, `${step}: ${key} more than one probe`)
          }
          if (p.blockedUntilMillis !== null && p.halfOpen) reached.halfOpen++
          blockedUntil.set(key, p.blockedUntilMillis ?? undefined)
          // no lost wake-up: an open (or half-open) domain with waiters is full, or its budget lacks a call's share
          // (1 request, 100 tokens) and the refill timer will serve it
          const bound = p.slowStartWindow ?? p.currentLimit
          const budgetShort = pm.budget !== undefined &&
            ((pm.budget.requestsAvailable ?? Infinity) < 1 || (pm.budget.tokensAvailable ?? Infinity) < 100)
          if (p.waiters > 0 && (p.blockedUntilMillis === null || p.halfOpen)) {
            assert.isTrue(
              p.inFlight >= bound || pm.inFlight >= pm.staticCap || budgetShort,
              `${step}: ${key} idle with waiters`
            )
          }
          // the semaphore says what the leases say: free = size − in flight, nothing pending
          const semaphore = permits.domains.find((d) => d.label === `p/m/${key}`)
          if (semaphore !== undefined) {
            assert.strictEqual(semaphore.resizing, 0, `${step}: ${key} resize pending`)
            assert.strictEqual(semaphore.free, semaphore.size - p.inFlight, `${step}: ${key} permits`)
          }
          now.set(key, p.inFlight)
          sumInFlight += p.inFlight
          sumWaiters += p.waiters
        }
        const pool = permits.pools[0]!
        assert.strictEqual(pool.resizing, 0, `${step}: pool resize pending`)
        assert.strictEqual(pool.free, pool.size - pm.inFlight, `${step}: pool permits`)
        assert.isTrue(pm.inFlight <= pm.staticCap || pm.inFlight <= previousAggregate, `${step}: aggregate over cap`)
        assert.strictEqual(sumInFlight, pm.inFlight, step)
        assert.strictEqual(view.activeLeases, pm.inFlight, step)
        assert.strictEqual(view.waiters, sumWaiters, step)
        assert.strictEqual(view.duplicateReleases, 0, step)
        assert.isAtMost(holding().length, view.activeLeases, step)
        previous = now
        previousBlockedUntil = blockedUntil
        previousWindow = window
        previousAggregate = pm.inFlight
      })

    const resourceOf = (domain: number) => resources[domain % input.domains]!
    for (let i = 0; i < input.commands.length; i++) {
      if (i === input.shutdownAt) {
        reached.shutdowns++
        yield* admission.shutdown
        yield* check(`step ${i} shutdown`)
      }
      const c = input.commands[i]!
      const step = `step ${i} ${JSON.stringify(c)}`
      if (trace) console.log(step)
      switch (c._tag) {
        case "acquire": {
          const holder: Omit<Holder, "fiber"> = { kind: "acquire", done: Deferred.makeUnsafe(), leases: [] }
          const item = {
            resource: resourceOf(c.domain),
            group: { key: `g${c.group}`, weight: input.weights[c.group]! },
            queueWaitTimeoutSeconds: c.timeout
          }
          yield* spawn(
            holder,
            Effect.scoped(Effect.gen(function*() {
              const lease = yield* admission.acquire(item)
              yield* got(holder as Holder, lease)
              const f = yield* Deferred.await(holder.done)
              if (f._tag === "outcome") yield* admission.release(lease, f.outcome)
            }))
          )
          break
        }
        case "withLease": {
          const holder: Omit<Holder, "fiber"> = { kind: "withLease", done: Deferred.makeUnsafe(), leases: [] }
          const item = {
            resource: resourceOf(c.domain),
            group: { key: `g${c.group}`, weight: input.weights[c.group]! },
            queueWaitTimeoutSeconds: c.timeout
          }
          yield* spawn(
            holder,
            admission.withLease(item, (lease) =>
              Effect.gen(function*() {
                yield* got(holder as Holder, lease)
                const f = yield* Deferred.await(holder.done)
                yield* finishUse(f, lease, c.explicit)
              }))
          )
          break
        }
        case "try": {
          const scope = yield* Scope.make()
          const result = yield* Effect.result(
            admission.tryAcquire({ resource: resourceOf(c.domain) }).pipe(Scope.provide(scope))
          )
          if (result._tag === "Success") {
            // a try never jumps ahead of an eligible waiter of its domain
            const p = yield* admission.pressure(resourceOf(c.domain))
            assert.isTrue(p.waiters === 0 || (p.blockedUntilMillis !== null && !p.halfOpen), `${step}: try jumped`)
            // a live fiber stands for the scope until it is closed
            const holder: Holder = {
              kind: "try",
              fiber: yield* Effect.forkChild(Effect.never, { startImmediately: true }),
              done: Deferred.makeUnsafe(),
              leases: [],
              scope
            }
            holders.push(holder)
            yield* got(holder, result.success)
          } else {
            yield* Scope.close(scope, Exit.void)
          }
          break
        }
        case "execute": {
          const holder: Omit<Holder, "fiber"> = { kind: "execute", done: Deferred.makeUnsafe(), leases: [] }
          yield* spawn(
            holder,
            executor.execute(
              { resource: resourceOf(c.domain), group: { key: `g${c.group}`, weight: input.weights[c.group]! } },
              ({ attempt: n, lease }) =>
                Effect.gen(function*() {
                  yield* got(holder as Holder, lease)
                  if (n > 1) reached.executorRetries++
                  yield* Effect.sleep(c.latencyMs)
                  const a = c.attempts[n - 1] ?? "ok"
                  if (a === "ok") return "answer"
                  if (a === "defect") return yield* Effect.die("provider bug")
                  return yield* Effect.fail(providerError(a))
                })
            )
          )
          break
        }
        case "finish": {
          const candidates = holding()
          if (candidates.length > 0) yield* signal(candidates[c.pick % candidates.length]!, c.finish)
          break
        }
        case "finishThenInterrupt": {
          const candidates = holding().filter((h) => h.kind !== "try")
          if (candidates.length > 0) {
            const h = candidates[c.pick % candidates.length]!
            yield* signal(h, c.finish)
            for (let y = 0; y < c.yields; y++) yield* Effect.yieldNow
            yield* Fiber.interrupt(h.fiber)
          }
          break
        }
        case "finishThenInterruptWaiter": {
          const candidates = holding()
          if (candidates.length > 0) {
            yield* signal(candidates[c.pick % candidates.length]!, { _tag: "outcome", outcome: ReleaseOutcome.success })
            // No yield: a lease the release just handed over is still on its way to its waiter.
            const waiting = live((h) => h.kind !== "execute" && h.kind !== "try" && h.leases.length === 0)
            if (waiting.length > 0) {
              const before = (yield* admission.inspect).activeLeases
              yield* Fiber.interrupt(waiting[c.victim % waiting.length]!.fiber)
              if ((yield* admission.inspect).activeLeases < before) reached.grantedThenInterrupted++
            }
          }
          break
        }
        case "interrupt": {
          const candidates = live(() => true)
          if (candidates.length > 0) {
            const h = candidates[c.pick % candidates.length]!
            if (h.kind === "try") yield* signal(h, { _tag: "outcome", outcome: ReleaseOutcome.localCancelled })
            yield* Fiber.interrupt(h.fiber)
          }
          break
        }
        case "advance":
          yield* TestClock.adjust(c.ms)
          break
        case "cap":
          // The budget goes with every registration: one without it would drop the alias's budget.
          yield* admission.register({
            provider: "p",
            model: "m",
            alias: `a${c.alias}`,
            maxParallelRequests: c.cap,
            ...input.budget
          })
          break
      }
      yield* check(step)
    }

    if (trace) console.log("settling")
    // Settle everything: finish every holder, let every timeout, cooldown and executor backoff pass.
    // A request budget of 6 per minute needs long enough for every attempt of 30 commands.
    for (let round = 0; round < (input.budget === null ? 40 : 200); round++) {
      for (const h of holding()) yield* signal(h, { _tag: "outcome", outcome: ReleaseOutcome.success })
      yield* TestClock.adjust("5 seconds")
      yield* quiesce
      if (holders.every((h) => h.fiber.pollUnsafe() !== undefined)) break
    }
    for (const h of holders) assert.isDefined(h.fiber.pollUnsafe(), `every ${h.kind} finished`)
    yield* check("at rest")
    const view = yield* admission.inspect
    assert.strictEqual(view.activeLeases, 0)
    assert.strictEqual(view.waiters, 0)
    assert.strictEqual(yield* internals.queueStateSize, 0)
    const permits = yield* internals.permits
    for (const p of [...permits.pools, ...permits.domains]) {
      assert.strictEqual(p.free, p.size, `${p.label}: every semaphore back to its full size`)
    }
    for (const event of events) {
      if (event._tag === "request_lease_acquired") {
        assert.isAtMost(event.inFlight, event.limit, `lease ${event.leaseId} admitted past the limit`)
      }
    }
    if (input.domains === 1) checkFairness(events, input.weights)
    if (input.budget !== null && input.budget !== undefined) checkBudget(events, input.budget.requestsPerMinute)
    if (trace) console.log("done")
  }).pipe(
    Effect.provide(
      RequestAdmission.layer({
        models: [{
          provider: "p",
          model: "m",
          alias: "a0",
          maxParallelRequests: input.cap,
          ...input.budget
        }],
        defaultEstimatedTokens: 100,
        successesUntilIncrease: input.successesUntilIncrease,
        decreaseFactor: input.decreaseFactor,
        decreaseToInFlight: input.decreaseToInFlight,
        slowStart: input.slowStart
      }).pipe(Layer.orDie)
    ),
    Effect.provide(TestClock.layer()),
    Effect.provideService(Scheduler.MaxOpsBeforeYield, input.yieldEvery),
    Effect.scoped
  )

/**
 * A request budget of `rpm` (a full minute's burst, from a full bucket at 0) never admits more than
 * `rpm + rpm × t / 60 s` leases by time t, less what came back: a lease handed to a waiter interrupted before it
 * ran returns its request (it is released as `local_cancelled`, which bounds how many did).
 */
const checkBudget = (events: ReadonlyArray<RequestEvent>, rpm: number) => {
  // The controller (and its full bucket) starts at 0 on the TestClock.
  const start = 0
  let admitted = 0
  let cancelled = 0
  for (const event of events) {
    if (event._tag === "request_budget_wait") reached.budgetWaits++
    if (event._tag === "request_lease_released" && event.outcome === "local_cancelled") cancelled++
    if (event._tag !== "request_lease_acquired") continue
    admitted++
    const allowed = rpm + rpm * (event.atMillis - start) / 60_000 + cancelled
    assert.isAtMost(admitted, Math.floor(allowed + 1e-9), `lease ${event.leaseId} admitted past the budget`)
  }
}

/**
 * From the event log of a case with one domain: two groups that stay backlogged together are served in proportion
 * to their weights, within start-time fair queueing's bound |n_a/w_a − n_b/w_b| ≤ 1/w_a + 1/w_b. (With several
 * domains a group may wait while another domain is served, and the bound holds across eligible flows only.)
 */
const checkFairness = (events: ReadonlyArray<RequestEvent>, weights: ReadonlyArray<number>) => {
  for (const domain of domains) {
    const queued = new Map<string, number>()
    /** Admissions per group since both groups of a pair became backlogged together. */
    const together = new Map<string, { a: number; b: number }>()
    const weightOf = (group: string) => weights[Number(group.slice(1))]!
    const backlogged = (group: string) => (queued.get(group) ?? 0) > 0
    const pairs = (group: string) => {
      const out: Array<[string, string]> = []
      for (let i = 0; i < GROUPS; i++) {
        const other = `g${i}`
        if (other !== group) out.push(group < other ? [group, other] : [other, group])
      }
      return out
    }
    for (const event of events) {
      if (!("resource" in event) || event.resource.domain !== domain || !("group" in event)) continue
      const group = event.group
      switch (event._tag) {
        case "request_wait_started":
          if (!backlogged(group)) {
            for (const [a, b] of pairs(group)) {
              if (backlogged(a === group ? b : a)) together.set(`${a}|${b}`, { a: 0, b: 0 })
            }
          }
          queued.set(group, (queued.get(group) ?? 0) + 1)
          break
        case "request_wait_completed": {
          for (const [a, b] of pairs(group)) {
            const count = together.get(`${a}|${b}`)
            if (count === undefined || !backlogged(a) || !backlogged(b)) continue
            if (group === a) count.a++
            else count.b++
            const gap = Math.abs(count.a / weightOf(a) - count.b / weightOf(b))
            assert.isAtMost(
              gap,
              1 / weightOf(a) + 1 / weightOf(b) + 1e-9,
              `${domain}: ${a}×${weightOf(a)} ${count.a}, ${b}×${weightOf(b)} ${count.b}`
            )
          }
          queued.set(group, (queued.get(group) ?? 0) - 1)
          break
        }
        case "request_wait_timeout":
        case "request_wait_cancelled":
          queued.set(group, (queued.get(group) ?? 0) - 1)
          break
      }
      if (event._tag !== "request_wait_started") {
        for (const [a, b] of pairs(group)) if (!backlogged(a) || !backlogged(b)) together.delete(`${a}|${b}`)
      }
    }
  }
}

/**
 * Counterexamples found once, run first on every run. Two releases whose pumps ran side by side: each pump failed to
 * take a permit the other held for a moment, both stopped, and the last waiter was never served (now: one pump per
 * pool at a time).
 */
const regressions: ReadonlyArray<Scenario> = [{
  domains: 1,
  cap: 2,
  successesUntilIncrease: 1,
  decreaseFactor: 0.5,
  decreaseToInFlight: false,
  slowStart: false,
  weights: [1, 1, 1],
  yieldEvery: 14,
  budget: { requestsPerMinute: 6, tokensPerMinute: undefined },
  commands: [
    { _tag: "acquire", domain: 0, group: 0, timeout: undefined, explicit: false },
    { _tag: "acquire", domain: 0, group: 0, timeout: undefined, explicit: false },
    { _tag: "finishThenInterruptWaiter", pick: 0, victim: 0 },
    { _tag: "withLease", domain: 0, group: 0, timeout: undefined, explicit: true },
    { _tag: "acquire", domain: 0, group: 0, timeout: undefined, explicit: false },
    { _tag: "acquire", domain: 0, group: 0, timeout: undefined, explicit: false },
    { _tag: "advance", ms: 1 },
    { _tag: "interrupt", pick: 13063746 },
    { _tag: "cap", alias: 0, cap: 1 }
  ],
  shutdownAt: null
}] as unknown as ReadonlyArray<Scenario>

const seed = process.env["SLUICE_PROPERTY_SEED"] === undefined
  ? (Date.now() ^ (Math.random() * 0x7fffffff)) | 0
  : Number(process.env["SLUICE_PROPERTY_SEED"])
const numRuns = Number(process.env["SLUICE_PROPERTY_RUNS"] ?? 2000)
const trace = process.env["SLUICE_PROPERTY_TRACE"] !== undefined
let failures = 0
/** One case to replay as printed in a counterexample (`SLUICE_PROPERTY_CASE='{"cap":…}'`). */
const only: Scenario | undefined = process.env["SLUICE_PROPERTY_CASE"] === undefined
  ? undefined
  : JSON.parse(process.env["SLUICE_PROPERTY_CASE"])

it.effect(
  `random interleavings keep every invariant and leave nothing behind (seed ${seed})`,
  () =>
    Effect.promise(async () => {
      console.log(`property seed ${seed}, ${numRuns} cases (replay: SLUICE_PROPERTY_SEED=${seed})`)
      const started = performance.now()
      await fc.assert(
        fc.asyncProperty(only === undefined ? scenario : fc.constant(only), (input) => {
          if (trace) console.log("case", JSON.stringify({ ...input, commands: input.commands.length }))
          // A hang (a lost wake-up, a stuck release) fails the case instead of the whole test (real time).
          return Effect.runPromise(
            run(input).pipe(Effect.timeoutOrElse({ duration: "20 seconds", orElse: () => Effect.die("case hung") }))
          ).catch((error) => {
            // fast-check reports the last shrunk case; the first failure's own error says what broke.
            if (failures++ === 0) console.log("first failure:", error, JSON.stringify(input))
            throw error
          })
        }),
        { numRuns, seed, examples: only === undefined ? regressions.map((r) => [r] as [Scenario]) : [] }
      )
      console.log(
        `property: ${numRuns} cases in ${((performance.now() - started) / 1000).toFixed(1)} s; reached`,
        JSON.stringify(reached)
      )
      if (only !== undefined) return
      assert.isAbove(reached.halfOpen, 0, "some interleavings reach a half-open cooldown")
      assert.isAbove(reached.grantedThenInterrupted, 0, "some waiters are interrupted between grant and resume")
      assert.isAbove(reached.executorRetries, 0, "some executor requests retry")
      assert.isAbove(reached.budgetWaits, 0, "some calls wait for their budget")
    }),
  240_000
)
