import { assert, describe, it } from "@effect/vitest"
import { ProviderError, type ProviderErrorKind } from "@sluice/errors"
import { Effect, Fiber, Layer, Tracer } from "effect"
import { TestClock } from "effect/testing"
import {
  execute,
  ModelRequestExecutor,
  type ModelRequestExecutorConfigInput,
  RequestAdmission,
  type RequestAdmissionConfigInput
} from "../src/index.js"
import { chat, controller, embedding, forkNow, image, leaks, MODEL, PROVIDER, recordEvents, settle } from "./helpers.js"

const setup = (cap = 1, config: RequestAdmissionConfigInput = {}, executor: ModelRequestExecutorConfigInput = {}) => {
  const admission = controller(cap, config)
  return Layer.merge(admission, ModelRequestExecutor.layer(executor).pipe(Layer.provide(admission)))
}

const providerError = (kind: ProviderErrorKind, status?: number, retryAfterSeconds?: number) =>
  new ProviderError({
    kind,
    message: `${kind} from the fake provider`,
    provider: PROVIDER,
    model: MODEL,
    ...(status === undefined ? {} : { status }),
    ...(retryAfterSeconds === undefined ? {} : { retryAfterSeconds })
  })

/** A fake provider: fails with the given errors in order, then answers "ok". */
const flaky = (failures: ReadonlyArray<ProviderError>) => {
  let calls = 0
  const attempt = () =>
    Effect.suspend(() => {
      const failure = failures[calls++]
      return failure === undefined ? Effect.succeed("ok") : Effect.fail(failure)
    })
  return { attempt, calls: () => calls }
}

const pressure = (r = chat) => RequestAdmission.use((a) => a.pressure(r))

describe("executor", () => {
  it.effect("a successful attempt releases its lease as success", () =>
    Effect.gen(function*() {
      const result = yield* execute({ resource: chat }, () => Effect.succeed("ok"))
      assert.strictEqual(result, "ok")
      const p = yield* pressure()
      assert.strictEqual(p.inFlight, 0)
      assert.strictEqual(p.lastOutcome, "success")
    }).pipe(Effect.provide(setup())))

  it.effect("a 429 is classified, applied to AIMD and not retried", () =>
    Effect.gen(function*() {
      const fake = flaky([providerError("rate_limit", 429, 1)])
      const error = yield* Effect.flip(execute({ resource: chat }, fake.attempt))
      assert.strictEqual(error._tag, "ModelRateLimitError")
      assert.strictEqual(fake.calls(), 1)
      const p = yield* pressure()
      assert.strictEqual(p.lastOutcome, "rate_limited")
      assert.strictEqual(p.cooldownRemainingMs, 1000)
    }).pipe(Effect.provide(setup(4))))

  it.effect("a 503 is retried with a fresh lease per attempt", () =>
    Effect.gen(function*() {
      const events = yield* recordEvents
      const fake = flaky([providerError("internal_server", 503)])
      const fiber = yield* forkNow(execute({ resource: chat }, fake.attempt))
      yield* TestClock.adjust("3 seconds")
      assert.strictEqual(yield* Fiber.join(fiber), "ok")
      assert.strictEqual(fake.calls(), 2)
      yield* settle
      const acquired = events.seen.filter((e) => e._tag === "request_lease_acquired").map((e) => e.leaseId)
      const released = events.seen.filter((e) => e._tag === "request_lease_released").map((e) => e.leaseId)
      assert.strictEqual(acquired.length, 2)
      assert.strictEqual(new Set(acquired).size, 2)
      assert.deepStrictEqual(new Set(released), new Set(acquired))
      const completed = events.seen.filter((e) => e._tag === "model_request_completed")
      assert.deepStrictEqual(completed.map((e) => e.outcome), ["provider_failure", "success"])
      assert.deepStrictEqual(completed.map((e) => e.attempt), [1, 2])
      for (const e of completed) assert.isAtLeast(e.durationMs!, 0)
    }).pipe(Effect.provide(setup())))

  it.effect("502, 504 and connection failures are retried; 500 and status-less timeouts are not", () =>
    Effect.gen(function*() {
      for (
        const [error, calls] of [
          [providerError("internal_server", 502), 2],
          [providerError("internal_server", 504), 2],
          [providerError("api_connection"), 2],
          [providerError("internal_server", 500), 1],
          [providerError("timeout"), 1],
          [providerError("bad_request", 400), 1]
        ] as const
      ) {
        const fake = flaky([error])
        const fiber = yield* forkNow(Effect.result(execute({ resource: chat }, fake.attempt)))
        yield* TestClock.adjust("3 seconds")
        yield* Fiber.join(fiber)
        assert.strictEqual(fake.calls(), calls, `${error.kind} ${error.status}`)
      }
    }).pipe(Effect.provide(setup())))

  it.effect("a status-less timeout maps to ModelTimeoutError and releases as provider_timeout", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(execute({ resource: chat }, flaky([providerError("timeout")]).attempt))
      assert.strictEqual(error._tag, "ModelTimeoutError")
      assert.strictEqual((yield* pressure()).lastOutcome, "provider_timeout")
    }).pipe(Effect.provide(setup())))

  it.effect("backoff is exponential with jitter, capped, and holds no lease while sleeping", () =>
    Effect.gen(function*() {
      const fake = flaky([
        providerError("internal_server", 503),
        providerError("internal_server", 503),
        providerError("internal_server", 503),
        providerError("internal_server", 503)
      ])
      const fiber = yield* forkNow(Effect.flip(execute({ resource: chat }, fake.attempt)))
      yield* settle
      assert.strictEqual(fake.calls(), 1)
      // first retry: 2 s ± 20 %
      yield* TestClock.adjust("1599 millis")
      assert.strictEqual(fake.calls(), 1)
      assert.strictEqual((yield* pressure()).inFlight, 0, "no lease during the backoff")
      yield* TestClock.adjust("801 millis")
      assert.strictEqual(fake.calls(), 2)
      // second: 4 s ± 20 %, third: 8 s ± 20 %
      yield* TestClock.adjust("4800 millis")
      assert.strictEqual(fake.calls(), 3)
      yield* TestClock.adjust("9600 millis")
      assert.strictEqual(fake.calls(), 4)
      const error = yield* Fiber.join(fiber)
      assert.strictEqual(error._tag, "ModelInternalServerError")
    }).pipe(Effect.provide(setup())))

  it.effect("maxBackoffSeconds caps every delay", () =>
    Effect.gen(function*() {
      const fake = flaky([providerError("api_connection"), providerError("api_connection")])
      const fiber = yield* forkNow(execute({ resource: chat }, fake.attempt))
      yield* TestClock.adjust("2 seconds")
      assert.strictEqual(yield* Fiber.join(fiber), "ok")
      assert.strictEqual(fake.calls(), 3)
    }).pipe(Effect.provide(setup(1, {}, { backoffBaseSeconds: 30, maxBackoffSeconds: 1 }))))

  it.effect("a queue-wait timeout becomes ModelRequestAdmissionTimeoutError and is not retried", () =>
    Effect.gen(function*() {
      const admission = yield* RequestAdmission
      yield* admission.tryAcquire({ resource: chat })
      const fake = flaky([])
      const error = yield* Effect.flip(execute({ resource: chat, queueWaitTimeoutSeconds: 0 }, fake.attempt))
      assert.strictEqual(error._tag, "ModelRequestAdmissionTimeoutError")
      assert.strictEqual(error._tag === "ModelRequestAdmissionTimeoutError" && error.resource, "nvidia/nemotron/chat")
      assert.strictEqual(fake.calls(), 0)
    }).pipe(Effect.provide(setup())))

  it.effect("a zero queue timeout on an idle controller sends the request (try once)", () =>
    Effect.gen(function*() {
      assert.strictEqual(yield* execute({ resource: chat, queueWaitTimeoutSeconds: 0 }, () => Effect.succeed(1)), 1)
    }).pipe(Effect.provide(setup())))

  it.effect("an unregistered model is rejected once, never retried and never a timeout", () =>
    Effect.gen(function*() {
      const fake = flaky([])
      const error = yield* Effect.flip(
        execute({ resource: { provider: "x", model: "y", domain: "chat" } }, fake.attempt)
      )
      assert.strictEqual(error._tag, "ModelRequestAdmissionRejectedError")
      assert.strictEqual(error._tag === "ModelRequestAdmissionRejectedError" && error.rejection, "unknown_resource")
      assert.strictEqual(fake.calls(), 0)
    }).pipe(Effect.provide(setup())))

  it.effect("after shutdown requests are rejected with rejection shutdown", () =>
    Effect.gen(function*() {
      yield* RequestAdmission.use((a) => a.shutdown)
      const error = yield* Effect.flip(execute({ resource: chat }, () => Effect.succeed(1)))
      assert.strictEqual(error._tag === "ModelRequestAdmissionRejectedError" && error.rejection, "shutdown")
    }).pipe(Effect.provide(setup())))

  it.effect("interrupting a slow provider call releases the lease as local_cancelled", () =>
    Effect.gen(function*() {
      const events = yield* recordEvents
      const fiber = yield* forkNow(execute({ resource: chat }, () => Effect.sleep("1 minute")))
      yield* TestClock.adjust("1 second")
      assert.strictEqual((yield* pressure()).inFlight, 1)
      yield* Fiber.interrupt(fiber)
      yield* settle
      assert.strictEqual((yield* pressure()).lastOutcome, "local_cancelled")
      assert.deepStrictEqual(yield* leaks, { activeLeases: 0, waiters: 0 })
      const completed = events.seen.find((e) => e._tag === "model_request_completed")
      assert.strictEqual(completed?.outcome, "local_cancelled")
      assert.strictEqual(completed?.durationMs, 1000)
    }).pipe(Effect.provide(setup())))

  it.effect("interrupting a request queued for admission leaves no waiter", () =>
    Effect.gen(function*() {
      const admission = yield* RequestAdmission
      yield* admission.tryAcquire({ resource: chat })
      const fiber = yield* forkNow(execute({ resource: chat }, () => Effect.succeed(1)))
      yield* settle
      assert.strictEqual((yield* pressure()).waiters, 1)
      yield* Fiber.interrupt(fiber)
      assert.deepStrictEqual(yield* leaks, { activeLeases: 1, waiters: 0 })
    }).pipe(Effect.provide(setup())))

  it.effect("a defect in the attempt releases as unexpected_exception and stays a defect", () =>
    Effect.gen(function*() {
      const exit = yield* Effect.exit(execute({ resource: chat }, () => Effect.die("boom")))
      assert.isTrue(exit._tag === "Failure")
      assert.strictEqual((yield* pressure()).lastOutcome, "unexpected_exception")
      assert.deepStrictEqual(yield* leaks, { activeLeases: 0, waiters: 0 })
    }).pipe(Effect.provide(setup())))

  it.effect("requests on three domains share the provider/model cap in fair order", () =>
    Effect.gen(function*() {
      const started: Array<string> = []
      const call = (r: typeof chat) =>
        execute({ resource: r }, () =>
          Effect.andThen(Effect.sync(() => started.push(r.domain)), Effect.sleep("1 second")))
      const fibers = [yield* forkNow(call(chat)), yield* forkNow(call(embedding)), yield* forkNow(call(image))]
      yield* settle
      assert.deepStrictEqual(started, ["chat"])
      const pm = yield* RequestAdmission.use((a) =>
        a.providerModelPressure(chat)
      )
      assert.strictEqual(pm.waiters, 2)
      assert.strictEqual(pm.inFlight, 1)
      yield* TestClock.adjust("1 second")
      yield* settle
      assert.deepStrictEqual(started, ["chat", "embedding"])
      yield* TestClock.adjust("1 second")
      yield* settle
      assert.deepStrictEqual(started, ["chat", "embedding", "image"])
      yield* TestClock.adjust("1 second")
      yield* Fiber.joinAll(fibers)
      assert.strictEqual((yield* RequestAdmission.use((a) => a.providerModelPressure(chat))).inFlight, 0)
    }).pipe(Effect.provide(setup())))

  it.effect("attempt events share the controller's sequence; completed comes before the release", () =>
    Effect.gen(function*() {
      const events = yield* recordEvents
      yield* execute({ resource: chat, group: { key: "writer", weight: 1 } }, () => Effect.succeed("ok"))
      yield* settle
      assert.deepStrictEqual(events.tags(), [
        "request_lease_acquired",
        "model_request_started",
        "model_request_completed",
        "request_lease_released"
      ])
      const sequences = events.seen.map((e) => e.sequence)
      for (let i = 1; i < sequences.length; i++) assert.strictEqual(sequences[i], sequences[i - 1]! + 1)
      const first = events.ofTag("request_lease_acquired")[0]!
      for (const e of events.seen) {
        assert.isTrue("resource" in e && "group" in e && "leaseId" in e, e._tag)
        if ("resource" in e && "group" in e && "leaseId" in e) {
          assert.deepStrictEqual(e.resource, chat)
          assert.strictEqual(e.group, "writer")
          assert.strictEqual(e.leaseId, first.leaseId)
        }
      }
      const json = JSON.stringify(events.seen)
      assert.notInclude(json, "ok", "no completions in events")
    }).pipe(Effect.provide(setup())))

  it.effect("one tracing span per provider attempt, retries included, and none around the backoff", () =>
    Effect.gen(function*() {
      const spans: Array<{ name: string; attributes: ReadonlyMap<string, unknown> }> = []
      const tracer = Tracer.make({
        span: (options) => {
          const span = new Tracer.NativeSpan(options)
          spans.push({ name: options.name, attributes: span.attributes })
          return span
        }
      })
      const fake = flaky([providerError("internal_server", 503)])
      const fiber = yield* forkNow(execute({ resource: chat }, fake.attempt).pipe(Effect.withTracer(tracer)))
      yield* TestClock.adjust("3 seconds")
      assert.strictEqual(yield* Fiber.join(fiber), "ok")
      assert.deepStrictEqual(spans.map((s) => s.name), ["ModelRequestExecutor.attempt", "ModelRequestExecutor.attempt"])
      assert.deepStrictEqual(spans.map((s) => s.attributes.get("sluice.attempt")), [1, 2])
      assert.strictEqual(spans[0]!.attributes.get("sluice.resource"), "nvidia/nemotron/chat")
    }).pipe(Effect.provide(setup())))
})
