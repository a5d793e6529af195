/**
 * The scheduler's property test: random DAGs, failures, latencies, capacity changes and cancellations on virtual
 * time, with the run's invariants checked at the end of every case.
 *
 * The seed is printed; `SLUICE_PROPERTY_SEED=<seed>` replays a run (every case is deterministic: virtual time and a
 * per-case `Random` seed), `SLUICE_PROPERTY_RUNS=<n>` changes the number of cases (default 2000).
 */
import {
  ModelAuthenticationError,
  ModelBadRequestError,
  ModelRateLimitError,
  ModelRequestAdmissionTimeoutError,
  isPreservedRetryable,
  ModelTimeoutError,
  ProviderError
} from "@sluice/errors"
import { assert, describe, it } from "@effect/vitest"
import { defaultExecutorConfig, make as makeRequestAdmission, makeExecutor } from "@sluice/request-admission"
import { customModelMetadata, localMetadata, modelMetadata, type SchedulingMetadata } from "@sluice/resolver"
import {
  type RequestCapacityView,
  type RequestDomain,
  requestResourceKey,
  type RequestResourceKey
} from "@sluice/scheduling-resources"
import { Cause, Clock, Effect, Exit, Fiber, PubSub, Random, References, Stream } from "effect"
import { TestClock } from "effect/testing"
import fc from "fast-check"
import {
  type BatchInput,
  type CellInput,
  type Checkpoint,
  type Column,
  type GenerationFailure,
  makeScheduler,
  type RowProcessor,
  type RowValues,
  type SchedulerOptions
} from "../src/index.js"
import { checkInvariants } from "./helpers.js"

/** What one attempt of a task does before it would succeed. */
type Outcome =
  | "rate_limit"
  | "rate_limit_retry_after"
  | "admission_timeout"
  | "retry"
  | "fail"
  | "auth"
  | "defect"
  | "interrupt"
  /** Every attempt is a 429 (only drawn with a preserve deadline, which then drops the row). */
  | "forever_429"

type Endpoint = "local" | "custom" | "p/m/chat" | "p/m/embedding" | "q/m/chat"

interface ColumnCase {
  readonly strategy: "cell" | "full"
  readonly requires: ReadonlyArray<number>
  readonly endpoint: Endpoint
  /** Per row (cell) or row group (full), modulo length: the failures of its first attempts. */
  readonly scripts: ReadonlyArray<ReadonlyArray<Outcome>>
  readonly latencies: ReadonlyArray<number>
  /** Skips the cells whose row's values sum to a multiple of this (none when undefined). */
  readonly skipMod: number | undefined
  readonly propagateSkip: boolean
}

interface ProcessorCase {
  readonly stage: "pre-batch" | "post-batch"
  /** Drops the rows whose dataset index is `rem` modulo `mod`. */
  readonly mod: number
  readonly rem: number
  /** Fails on this row group instead. */
  readonly failsOn: number | undefined
}

interface Case {
  readonly seed: number
  readonly columns: ReadonlyArray<ColumnCase>
  readonly rows: number
  readonly bufferSize: number
  readonly maxConcurrentRowGroups: number
  readonly maxInFlightTasks: number
  readonly dispatchBatch: number
  readonly policy: "bounded-borrow" | "strict-fair"
  readonly maxAttempts: number
  readonly preserveDeadlineMs: number | undefined
  readonly earlyShutdown: false | { readonly window: number; readonly rate: number }
  readonly stopOnAuth: boolean
  readonly capacity: "static" | "fake" | "real"
  /** Fake capacity: at `at`, a domain's limit becomes `limit`, or it cools down for `coolMs`. */
  readonly capacityEvents: ReadonlyArray<
    { readonly at: number; readonly domain: number; readonly limit: number; readonly coolMs: number }
  >
  /** Real capacity: work outside the scheduler holds a request slot of p/m/chat from `at` for `holdMs`. */
  readonly otherWork: ReadonlyArray<{ readonly at: number; readonly holdMs: number }>
  readonly queueWaitTimeoutSeconds: number | null
  readonly cancelAt: number | undefined
  readonly sinkFailsOn: number | undefined
  readonly resume: ReadonlyArray<number>
  readonly processors: ReadonlyArray<ProcessorCase>
}

const domains: ReadonlyArray<RequestResourceKey> = [
  requestResourceKey("p", "m", "chat"),
  requestResourceKey("p", "m", "embedding"),
  requestResourceKey("q", "m", "chat")
]
const endpointCap = 3

const metadataOf = (endpoint: Endpoint, k: number): SchedulingMetadata => {
  switch (endpoint) {
    case "local":
      return localMetadata()
    case "custom":
      return customModelMetadata("t", `c${k}`, "v1", 1 + (k % 2))
    default: {
      const [provider, model, domain] = endpoint.split("/") as [string, string, RequestDomain]
      return modelMetadata(provider, model, domain, endpointCap)
    }
  }
}

const outcomeArb = fc.constantFrom<Outcome>(
  "rate_limit",
  "rate_limit_retry_after",
  "admission_timeout",
  "retry",
  "fail",
  "auth",
  "defect",
  "interrupt",
  "forever_429"
)

/** Most rows succeed at once; the others fail a few times first. */
const scriptArb: fc.Arbitrary<ReadonlyArray<Outcome>> = fc.oneof(
  { weight: 3, arbitrary: fc.constant([]) },
  { weight: 2, arbitrary: fc.array(outcomeArb, { maxLength: 3 }) }
)

const columnArb = (k: number): fc.Arbitrary<ColumnCase> =>
  fc.record({
    strategy: fc.constantFrom<"cell" | "full">("cell", "cell", "full"),
    requires: k === 0 ? fc.constant([]) : fc.uniqueArray(fc.nat(k - 1), { maxLength: Math.min(k, 3) }),
    endpoint: fc.constantFrom<Endpoint>("local", "custom", "p/m/chat", "p/m/embedding", "q/m/chat"),
    scripts: fc.array(scriptArb, { minLength: 1, maxLength: 5 }),
    latencies: fc.array(fc.nat(150), { minLength: 1, maxLength: 4 }),
    skipMod: rarely(fc.integer({ min: 2, max: 4 }), 4),
    propagateSkip: fc.boolean()
  })

/** `undefined`, except once in `n` cases. */
const rarely = <A>(arbitrary: fc.Arbitrary<A>, n: number): fc.Arbitrary<A | undefined> =>
  fc.oneof({ weight: n - 1, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary })

const caseArb: fc.Arbitrary<Case> = fc.integer({ min: 1, max: 5 }).chain((width) =>
  fc.record({
    seed: fc.nat(),
    columns: fc.tuple(...Array.from({ length: width }, (_, k) => columnArb(k))),
    rows: fc.integer({ min: 1, max: 12 }),
    bufferSize: fc.integer({ min: 1, max: 6 }),
    maxConcurrentRowGroups: fc.integer({ min: 1, max: 3 }),
    maxInFlightTasks: fc.integer({ min: 1, max: 8 }),
    dispatchBatch: fc.integer({ min: 1, max: 4 }),
    policy: fc.constantFrom<"bounded-borrow" | "strict-fair">("bounded-borrow", "strict-fair"),
    maxAttempts: fc.integer({ min: 1, max: 3 }),
    preserveDeadlineMs: fc.option(fc.integer({ min: 200, max: 3_000 }), { nil: undefined }),
    earlyShutdown: fc.oneof(
      fc.constant(false as const),
      fc.record({ window: fc.integer({ min: 1, max: 4 }), rate: fc.constantFrom(0.5, 1) })
    ),
    stopOnAuth: fc.boolean(),
    capacity: fc.constantFrom<"static" | "fake" | "real">("static", "fake", "real"),
    capacityEvents: fc.array(
      fc.record({
        at: fc.nat(3_000),
        domain: fc.nat(2),
        limit: fc.integer({ min: 1, max: endpointCap }),
        coolMs: fc.oneof(fc.constant(0), fc.integer({ min: 50, max: 1_500 }))
      }),
      { maxLength: 4 }
    ),
    otherWork: fc.array(fc.record({ at: fc.nat(2_000), holdMs: fc.integer({ min: 50, max: 800 }) }), { maxLength: 3 }),
    queueWaitTimeoutSeconds: fc.constantFrom<number | null>(null, 0, 0.05),
    cancelAt: rarely(fc.nat(2_000), 8),
    sinkFailsOn: rarely(fc.nat(2), 10),
    resume: fc.uniqueArray(fc.nat(1), { maxLength: 1 }),
    processors: fc.oneof(
      { weight: 3, arbitrary: fc.constant([]) },
      {
        weight: 1,
        arbitrary: fc.array(
          fc.record({
            stage: fc.constantFrom<"pre-batch" | "post-batch">("pre-batch", "post-batch"),
            mod: fc.integer({ min: 2, max: 4 }),
            rem: fc.nat(3),
            failsOn: rarely(fc.nat(2), 10)
          }),
          { minLength: 1, maxLength: 2 }
        )
      }
    )
  })
)

const facts = { provider: "p", model: "m", reason: "scripted", solution: "none" }

const modelFailure = (outcome: Outcome): GenerationFailure => {
  switch (outcome) {
    case "rate_limit":
    case "forever_429":
      return new ModelRateLimitError({ ...facts, status: 429 })
    case "rate_limit_retry_after":
      return new ModelRateLimitError({ ...facts, status: 429, retryAfterSeconds: 0.3 })
    case "admission_timeout":
      return new ModelRequestAdmissionTimeoutError({ ...facts, resource: "p/m/chat", waitedMs: 50, waitersAhead: 1 })
    case "retry":
      return new ModelTimeoutError(facts)
    case "auth":
      return new ModelAuthenticationError({ ...facts, status: 401 })
    default:
      return new ModelBadRequestError({ ...facts, status: 400 })
  }
}

/** The provider's answer for a scripted outcome, behind the real request-admission executor. */
const providerFailure = (outcome: Outcome): ProviderError => {
  const kind = outcome === "rate_limit" || outcome === "forever_429" || outcome === "rate_limit_retry_after"
    ? "rate_limit"
    : outcome === "retry"
    ? "timeout"
    : outcome === "auth"
    ? "authentication"
    : "bad_request"
  return new ProviderError({
    kind,
    message: "scripted",
    provider: "p",
    model: "m",
    ...(kind === "rate_limit" ? { status: 429 } : {}),
    ...(outcome === "rate_limit_retry_after" ? { retryAfterSeconds: 0.3 } : {})
  })
}

const domainIndex = (resource: RequestResourceKey): number =>
  domains.findIndex((d) => d.provider === resource.provider && d.domain === resource.domain)

/** A fake request layer: per domain a view, changed by the case's capacity events. */
const fakeCapacity = (events: Case["capacityEvents"]) =>
  Effect.gen(function*() {
    const pubsub = yield* PubSub.unbounded<RequestCapacityView>()
    const views = domains.map((resource): { -readonly [K in keyof RequestCapacityView]: RequestCapacityView[K] } => ({
      resource,
      limit: endpointCap,
      staticCap: endpointCap,
      open: true,
      blockedUntilMillis: null,
      inFlight: 0,
      waiters: 0
    }))
    const publish = (i: number) => PubSub.publish(pubsub, { ...views[i]! })
    for (const event of events) {
      yield* Effect.forkDetach(Effect.gen(function*() {
        yield* Effect.sleep(event.at)
        const view = views[event.domain]!
        if (event.coolMs === 0) {
          view.limit = event.limit
          return yield* publish(event.domain)
        }
        view.open = false
        view.blockedUntilMillis = (yield* Clock.currentTimeMillis) + event.coolMs
        yield* publish(event.domain)
        yield* Effect.sleep(event.coolMs)
        view.open = true
        view.blockedUntilMillis = null
        yield* publish(event.domain)
      }))
    }
    return {
      capacity: (resource: RequestResourceKey) => Effect.sync(() => ({ ...views[domainIndex(resource)]! })),
      capacityChanges: Stream.fromPubSub(pubsub)
    }
  })

/** What the cases covered, printed at the end (a property test that never reaches a path proves nothing about it). */
const tally = new Map<string, number>()
const note = (what: string) => tally.set(what, (tally.get(what) ?? 0) + 1)

const runCase = (c: Case) =>
  Effect.gen(function*() {
    note(`capacity ${c.capacity}`)
    const attempts = new Map<string, number>()
    const firstPreservedAt = new Map<string, number>()
    const lastPreservedAt = new Map<string, number>()
    const preservedRows = new Set<number>()
    const written: Array<Checkpoint> = []
    // Rows pre-batch processors dropped, and the rows each non-seed generator was called for.
    const preBatchDropped = new Set<number>()
    const nonSeedCalls: Array<number> = []
    const skipViolations: Array<string> = []
    const admission = c.capacity === "real"
      ? yield* makeRequestAdmission({
        models: [
          { provider: "p", model: "m", maxParallelRequests: endpointCap },
          { provider: "q", model: "m", maxParallelRequests: endpointCap }
        ],
        queueWaitTimeoutSeconds: c.queueWaitTimeoutSeconds,
        cooldownSeconds: 0.5
      })
      : undefined
    const executor = admission === undefined
      ? undefined
      : makeExecutor(admission, { ...defaultExecutorConfig, maxRetries: 0 })
    const source = admission ?? (c.capacity === "fake" ? yield* fakeCapacity(c.capacityEvents) : undefined)
    const others: Array<Fiber.Fiber<unknown, unknown>> = []
    if (admission !== undefined) {
      for (const work of c.otherWork) {
        others.push(
          yield* Effect.forkChild(
            Effect.sleep(work.at).pipe(
              Effect.andThen(admission.withLease({ resource: domains[0]!, queueWaitTimeoutSeconds: null }, () =>
                Effect.sleep(work.holdMs)))
            ),
            { startImmediately: true }
          )
        )
      }
    }

    const columns: Array<Column> = c.columns.map((col, k) => {
      const name = `c${k}`
      const metadata = metadataOf(col.endpoint, k)
      const resource = metadata.kind === "model"
        ? requestResourceKey(metadata.provider, metadata.model, metadata.domain)
        : undefined
      // One attempt: the script's failure for this attempt, or success, after the case's latency.
      const outcomeOf = (key: string, script: ReadonlyArray<Outcome>): Outcome | undefined => {
        const n = (attempts.get(key) ?? 0) + 1
        attempts.set(key, n)
        if (c.preserveDeadlineMs !== undefined && script.includes("forever_429")) {
          return "forever_429"
        }
        const scripted = script[n - 1]
        return scripted === "forever_429" ? "rate_limit" : scripted
      }
      const act = (outcome: Outcome | undefined, latency: number): Effect.Effect<void, GenerationFailure> => {
        if (outcome === "defect") {
          return Effect.die(`scripted defect in ${name}`)
        }
        if (outcome === "interrupt") {
          return Effect.interrupt
        }
        if (executor === undefined || resource === undefined || outcome === "admission_timeout") {
          const failure = outcome === undefined ? Effect.void : Effect.fail(modelFailure(outcome))
          return Effect.andThen(Effect.sleep(latency), failure)
        }
        const answer = outcome === undefined ? Effect.void : Effect.fail(providerFailure(outcome))
        return Effect.asVoid(executor.execute({ resource }, () =>
          Effect.andThen(Effect.sleep(latency), answer)))
      }
      // Preserved failures, scripted or from the real request admission (its queue timeouts), and when.
      const record = (key: string, rows: ReadonlyArray<number>) => (error: GenerationFailure) =>
        Effect.map(Clock.currentTimeMillis, (now) => {
          if (!isPreservedRetryable(error)) return
          if (!firstPreservedAt.has(key)) firstPreservedAt.set(key, now)
          lastPreservedAt.set(key, now)
          for (const row of rows) preservedRows.add(row)
        })
      const attempt = (key: string, scriptIndex: number, rows: ReadonlyArray<number>) =>
        Effect.suspend(() =>
          act(
            outcomeOf(key, col.scripts[scriptIndex % col.scripts.length]!),
            col.latencies[scriptIndex % col.latencies.length]!
          )
        ).pipe(Effect.tapError(record(key, rows)))
      const requires = col.requires.map((r) => `c${r}`)
      const isSeed = col.requires.length === 0 && col.endpoint === "local"
      const skipMod = col.skipMod
      const base = {
        name,
        requires,
        scheduling: metadata,
        ...(skipMod === undefined ? {} : {
          skip: (values: RowValues) =>
            Object.values(values).reduce<number>((sum, v) => sum + (typeof v === "number" ? v : 0), 0) % skipMod ===
              0,
          propagateSkip: col.propagateSkip
        })
      }
      // A generator sees no skipped (null) requirement unless its column opted out of propagation.
      const checkInput = (row: number, values: RowValues) => {
        if (!isSeed) nonSeedCalls.push(row)
        if (c.columns.some((other) => other.skipMod !== undefined) && (skipMod === undefined || col.propagateSkip)) {
          for (const r of requires) if (values[r] === null) skipViolations.push(`${name} row ${row} read skipped ${r}`)
        }
      }
      return col.strategy === "cell"
        ? {
          ...base,
          strategy: "cell" as const,
          generate: ({ row, values }: CellInput) =>
            Effect.suspend(() => {
              checkInput(row, values)
              return attempt(`${name}:${row}`, row, [row]).pipe(Effect.as({ [name]: row }))
            })
        }
        : {
          ...base,
          strategy: "full" as const,
          generate: ({ firstRow, rowGroup, rowIndexes, rows }: BatchInput) =>
            Effect.suspend(() => {
              rowIndexes.forEach((i, j) => checkInput(firstRow + i, rows[j]!))
              return attempt(`${name}:rg${rowGroup}`, rowGroup, rowIndexes.map((i) => firstRow + i)).pipe(
                Effect.as(rowIndexes.map((): RowValues => ({ [name]: rowGroup })))
              )
            })
        }
    })

    const rowGroups = Math.ceil(c.rows / c.bufferSize)
    const options: SchedulerOptions = {
      maxConcurrentRowGroups: c.maxConcurrentRowGroups,
      maxInFlightTasks: c.maxInFlightTasks,
      dispatchBatch: c.dispatchBatch,
      admissionPolicy: c.policy,
      retry: {
        maxAttempts: c.maxAttempts,
        baseDelay: 20,
        maxDelay: 200,
        ...(c.preserveDeadlineMs === undefined ? {} : { preserveDeadline: c.preserveDeadlineMs })
      },
      earlyShutdown: c.earlyShutdown,
      stopOnKinds: c.stopOnAuth ? ["authentication"] : [],
      ...(source === undefined ? {} : { requestCapacity: source }),
      resume: { completedRowGroups: c.resume.filter((g) => g < rowGroups) }
    }
    const processors: Array<RowProcessor> = c.processors.map((p, i) => ({
      name: `p${i}`,
      stage: p.stage,
      process: (input) =>
        input.rowGroup === p.failsOn
          ? Effect.fail("scripted processor failure")
          : Effect.sync(() => {
            const drop = input.rowIndexes.filter((r) => (input.firstRow + r) % p.mod === p.rem % p.mod)
            if (p.stage === "pre-batch") { for (const r of drop) preBatchDropped.add(input.firstRow + r) }
            return drop
          })
    }))
    const scheduler = yield* makeScheduler({
      columns,
      processors,
      rows: c.rows,
      bufferSize: c.bufferSize,
      sink: {
        write: (checkpoint) =>
          checkpoint.rowGroup === c.sinkFailsOn
            ? Effect.fail("disk full")
            : Effect.sync(() => void written.push(checkpoint))
      }
    }, options)
    const fiber = yield* Effect.forkChild(scheduler.run, { startImmediately: true })
    if (c.cancelAt !== undefined) {
      yield* Effect.forkChild(Effect.sleep(c.cancelAt).pipe(Effect.andThen(Fiber.interrupt(fiber))), {
        startImmediately: true
      })
    }
    let elapsed = 0
    while (fiber.pollUnsafe() === undefined && elapsed < 1_200_000) {
      yield* TestClock.adjust(100)
      elapsed += 100
    }
    assert.isDefined(fiber.pollUnsafe(), "the run ended")
    const exit = yield* Fiber.await(fiber)
    // Work outside the scheduler that is still waiting or holding a slot gives it back.
    yield* Fiber.interruptAll(others)

    // The run ends in success, a cancellation, or the sink's failure; never a deadlock.
    if (Exit.isFailure(exit)) {
      const failure = Cause.findErrorOption(exit.cause)
      const error = failure._tag === "Some" ? failure.value : undefined
      if (error?._tag === "SchedulerProcessorError") {
        const rowGroup = error.rowGroup
        assert.isTrue(c.processors.some((p) => p.failsOn === rowGroup), String(exit.cause))
      } else if (failure._tag === "Some") {
        assert.strictEqual(failure.value._tag, "SchedulerCheckpointWriteError", String(exit.cause))
        assert.isDefined(c.sinkFailsOn)
      } else {
        assert.isTrue(Cause.hasInterruptsOnly(exit.cause) && c.cancelAt !== undefined, String(exit.cause))
      }
    }
    note(Exit.isSuccess(exit) ? "run completed" : Exit.hasInterrupts(exit) ? "run cancelled" : "run failed")
    assert.deepStrictEqual(skipViolations, [], "no generator reads a skipped requirement")
    // A row a pre-batch processor dropped never reaches a non-seed generator.
    for (const row of nonSeedCalls) assert.isFalse(preBatchDropped.has(row), `row ${row} dropped before the batch`)
    if (preBatchDropped.size > 0) note("pre-batch drops")
    const result = Exit.isSuccess(exit) ? exit.value : undefined
    if (result?.stop !== undefined) note(`stop ${result.stop.reason}`)
    if ((result?.cellsSkipped ?? 0) > 0) note("cells skipped")
    for (const kind of Object.keys(result?.dropCauses ?? {})) note(`drop ${kind}`)
    for (const kind of ["rate_limit", "request_admission_timeout", "generator_interrupted"]) {
      if ((result?.outcomes[kind] ?? 0) > 0) note(`retried ${kind}`)
    }
    // Zero task leases and running tasks, no row written twice; on success every row completed or dropped.
    yield* checkInvariants(scheduler, written, result)
    if (admission !== undefined) {
      const inspection = yield* admission.inspect
      assert.strictEqual(inspection.activeLeases, 0, "request leases")
      assert.strictEqual(inspection.waiters, 0, "request waiters")
    }
    if (result === undefined) return
    const strategyOf = new Map(columns.map((col) => [col.name, col.strategy]))
    for (const { cause, row, rowGroup } of result.droppedRows) {
      // A preserved failure never drops a row by itself…
      assert.notInclude(["rate_limit", "request_admission_timeout"], cause.kind, `row ${row}`)
      // …only its deadline does, once it has passed.
      if (cause.kind === "preserve_deadline_exceeded") {
        assert.isDefined(c.preserveDeadlineMs)
        const key = strategyOf.get(cause.column!) === "cell"
          ? `${cause.column}:${row}`
          : `${cause.column}:rg${rowGroup}`
        assert.isAtLeast(lastPreservedAt.get(key)! - firstPreservedAt.get(key)!, c.preserveDeadlineMs!, key)
      }
      // Early shutdown never drops a row that waits on preserved work (only a stop on a failure kind does).
      if (cause.kind === "early_shutdown" && result.stop?.reason === "early_shutdown") {
        assert.isFalse(preservedRows.has(row), `row ${row} had preserved work`)
      }
    }
    if (c.earlyShutdown === false && !c.stopOnAuth) assert.isUndefined(result.stop)
  }).pipe(
    Effect.scoped,
    Random.withSeed(c.seed),
    Effect.provide(TestClock.layer()),
    Effect.provideService(References.MinimumLogLevel, "None")
  )

const seed = process.env["SLUICE_PROPERTY_SEED"] === undefined
  ? Math.floor(Math.random() * 2 ** 31)
  : Number(process.env["SLUICE_PROPERTY_SEED"])
const numRuns = Number(process.env["SLUICE_PROPERTY_RUNS"] ?? 2000)

describe("property", () => {
  it.effect(
    `random DAGs, failures, capacity changes and cancellations keep every invariant (seed ${seed})`,
    () =>
      Effect.gen(function*() {
        console.log(`scheduler property test: seed ${seed}, ${numRuns} cases (replay: SLUICE_PROPERTY_SEED=${seed})`)
        const started = performance.now()
        const details = yield* Effect.promise(() =>
          fc.check(fc.asyncProperty(caseArb, (c) => Effect.runPromise(runCase(c))), { seed, numRuns })
        )
        console.log(
          `scheduler property test: ${details.numRuns} cases in ${Math.round(performance.now() - started)} ms`
        )
        console.log(`covered: ${[...tally].sort().map(([what, n]) => `${what} ${n}`).join(", ")}`)
        if (details.failed) {
          assert.fail(`${fc.defaultReportMessage(details) ?? "property failed"}\n${String(details.errorInstance)}`)
        }
      }),
    600_000
  )
})
