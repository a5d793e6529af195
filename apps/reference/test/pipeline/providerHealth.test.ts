import { assert, describe, it } from "@effect/vitest"
import { ProviderError, retryPolicyOf, toModelError } from "@sluice/errors"
import { ModelRequestExecutor, RequestAdmission } from "@sluice/request-admission"
import { Clock, Effect, Layer, Redacted } from "effect"
import { TestClock } from "effect/testing"
import {
  type ProviderTransportShape,
  type TransportResponse,
  ProviderTransport,
  TransportError
} from "../../src/client/index.js"
import { ModelGateway } from "../../src/columns/ModelGateway.js"
import type { ModelConfig } from "../../src/config/schema.js"
import { liveGatewayLayer } from "../../src/pipeline/liveGateway.js"
import { ProviderHealth } from "../../src/pipeline/providerHealth.js"
import type { ProviderRuntime } from "../../src/pipeline/providers.js"
import { emptyRequestCounts, emptyTokenTally } from "../../src/pipeline/requestCounters.js"

const refused = (port = 9) =>
  new ProviderError({
    kind: "api_connection",
    provider: "acme",
    model: "m",
    message: `Provider 'acme' request failed: connect ECONNREFUSED 127.0.0.1:${port}`,
    providerMessage: `connect ECONNREFUSED 127.0.0.1:${port}`
  })
const answered = (status: number, kind: ProviderError["kind"], extra: Partial<ProviderError> = {}) =>
  new ProviderError({ kind, provider: "acme", model: "m", status, message: `answered ${status}`, ...extra })

const health = (consecutiveFailures = 5, graceSeconds = 30, withoutSuccessSeconds: number | null = 300) =>
  new ProviderHealth("acme", { consecutiveFailures, graceSeconds, withoutSuccessSeconds }, 120)

describe("ProviderHealth (the circuit breaker)", () => {
  it("a provider dead from the start is down after N connection failures in a row, with the OS's words", () => {
    const breaker = health(3)
    assert.isFalse(breaker.recordFailure(refused(), 0).wentDown)
    assert.isFalse(breaker.recordFailure(refused(), 10).wentDown)
    assert.isFalse(breaker.isDown)
    const third = breaker.recordFailure(refused(), 20)
    assert.isTrue(third.wentDown)
    assert.strictEqual(third.error.kind, "provider_unreachable")
    assert.strictEqual(third.error.providerMessage, "connect ECONNREFUSED 127.0.0.1:9")
    const model = toModelError(breaker.downError("gpt-x")!, { purpose: "generating column 'review'" })
    assert.strictEqual(model._tag, "ModelProviderUnreachableError")
    assert.strictEqual(model.model, "gpt-x")
    assert.strictEqual(model.providerMessage, "connect ECONNREFUSED 127.0.0.1:9")
    assert.include(breaker.downNotice()!, "provider 'acme' is down: connect ECONNREFUSED 127.0.0.1:9")
    assert.include(breaker.downNotice()!, "3 connection failures in a row and it has not answered")
    assert.deepStrictEqual(breaker.snapshot().down, {
      reason: "unreachable",
      message: "connect ECONNREFUSED 127.0.0.1:9",
      sinceMillis: 20,
      failures: 3,
      hadAnswered: false,
      silent: false,
      rateLimitedOnly: false,
      failingSeconds: 0
    })
  })

  it("a provider that answers only 503 (or garbage) for withoutSuccessSeconds is down; one usable answer starts over", () => {
    const breaker = health(3, 30, 60)
    const unavailable = answered(503, "internal_server", { providerMessage: "upstream unavailable" })
    for (let t = 0; t < 60_000; t += 10_000) {
      assert.isFalse(
        breaker.recordFailure(t % 20_000 === 0 ? unavailable : answered(200, "malformed_response"), t).wentDown
      )
    }
    // A success resets the count: the provider is flaky, not dead.
    breaker.recordSuccess()
    for (let t = 60_000; t < 120_000; t += 10_000) assert.isFalse(breaker.recordFailure(unavailable, t).wentDown)
    // A request refused on its own terms (400) neither counts nor resets.
    assert.isFalse(breaker.recordFailure(answered(400, "bad_request"), 119_000).wentDown)
    const down = breaker.recordFailure(unavailable, 120_000)
    assert.isTrue(down.wentDown)
    assert.strictEqual(down.error.kind, "provider_unreachable")
    const snapshot = breaker.snapshot().down!
    assert.strictEqual(snapshot.reason, "failing")
    assert.isFalse(snapshot.rateLimitedOnly)
    assert.strictEqual(snapshot.failures, 7)
    assert.strictEqual(snapshot.failingSeconds, 60)
    assert.include(breaker.downNotice()!, "it answered only errors for 60 s, 7 attempts without one usable answer")
    assert.include(breaker.downNotice()!, "upstream unavailable")
  })

  it("only 429s for withoutSuccessSeconds: down, said as rate limits; null waits as long as it takes", () => {
    const limited = answered(429, "rate_limit", { retryAfterSeconds: 30 })
    const breaker = health(5, 30, 300)
    for (let i = 0; i < 10; i++) assert.isFalse(breaker.recordFailure(limited, i * 30_000).wentDown)
    assert.isTrue(breaker.recordFailure(limited, 300_000).wentDown)
    assert.isTrue(breaker.snapshot().down!.rateLimitedOnly)
    assert.include(breaker.downNotice()!, "it answered only rate limits (429) for 300 s")
    const patient = health(5, 30, null)
    for (let i = 0; i < 1000; i++) assert.isFalse(patient.recordFailure(limited, i * 60_000).wentDown)
    // Too few attempts, however long: not down.
    const sparse = health(5, 30, 60)
    for (let i = 0; i < 4; i++) assert.isFalse(sparse.recordFailure(limited, i * 600_000).wentDown)
  })

  it("a 401 marks it down at once: every call then fails as authentication with the provider's message", () => {
    const breaker = health()
    const verdict = breaker.recordFailure(
      answered(401, "authentication", { message: "Incorrect API key provided: sk-[redacted]." }),
      0
    )
    assert.isTrue(verdict.wentDown)
    assert.strictEqual(verdict.error.kind, "authentication")
    const down = breaker.downError("m")!
    assert.strictEqual(down.kind, "authentication")
    assert.strictEqual(down.status, 401)
    assert.strictEqual(toModelError(down).providerMessage, "Incorrect API key provided: sk-[redacted].")
    // A connection failure or a late 401 of a request already in flight reports the same cause.
    assert.strictEqual(breaker.recordFailure(refused(), 5).error.kind, "authentication")
    assert.isFalse(breaker.recordFailure(refused(), 5).wentDown)
  })

  it("a provider that has answered gets the grace period: down only once the failures have lasted graceSeconds", () => {
    const breaker = health(3, 30)
    breaker.recordSuccess()
    for (let at = 1_000; at <= 10_000; at += 1_000) breaker.recordFailure(refused(), at)
    assert.isFalse(breaker.isDown, "ten failures in 9 s: still within the grace")
    assert.isFalse(breaker.recordFailure(refused(), 30_999).wentDown)
    const last = breaker.recordFailure(refused(), 31_000)
    assert.isTrue(last.wentDown, "the failures began at 1 s and have now lasted 30 s")
    assert.include(breaker.downNotice()!, "for 30 s or more")
  })

  it("any answer resets the count; 403 and connect timeouts count", () => {
    const breaker = health(3, 0)
    breaker.recordFailure(refused(), 0)
    breaker.recordFailure(refused(), 1)
    for (
      const answer of [
        answered(429, "rate_limit", { retryAfterSeconds: 4 }),
        answered(500, "internal_server"),
        answered(200, "malformed_response"),
        answered(200, "response_too_large")
      ]
    ) {
      breaker.recordFailure(answer, 2)
      breaker.recordFailure(refused(), 3)
      breaker.recordFailure(refused(), 4)
      assert.isFalse(breaker.isDown, answer.kind)
      breaker.recordSuccess()
    }
    breaker.recordFailure(refused(), 5)
    breaker.recordFailure(answered(403, "permission_denied", { message: "Your account is locked." }), 7)
    assert.isFalse(breaker.isDown)
    const connectTimeout = new ProviderError({
      kind: "timeout",
      provider: "acme",
      model: "m",
      message: "Provider 'acme' request failed: Connect Timeout Error",
      cause: Object.assign(new Error("Connect Timeout Error"), { code: "UND_ERR_CONNECT_TIMEOUT" })
    })
    assert.isTrue(breaker.recordFailure(connectTimeout, 8).wentDown)
    assert.deepStrictEqual(breaker.snapshot().lastRateLimit, { atMillis: 2, retryAfterSeconds: 4 })
  })
})

const hung = () =>
  new ProviderError({
    kind: "timeout",
    provider: "acme",
    model: "m",
    message: "Provider 'acme' did not answer within 120 s.",
    providerMessage: "Provider 'acme' did not answer within 120 s."
  })

describe("ProviderHealth: a provider that accepts connections and never answers", () => {
  it("timeouts without an answer count, always with the grace period, even before any answer", () => {
    const breaker = health(3, 30)
    // A stall: a burst of timeouts at one moment is not enough, however many.
    for (let i = 0; i < 10; i++) assert.isFalse(breaker.recordFailure(hung(), 120_000).wentDown)
    assert.isFalse(breaker.recordFailure(hung(), 149_999).wentDown)
    // Still nothing after 30 s of attempts in a row: down, and the run stops grinding.
    const last = breaker.recordFailure(hung(), 150_000)
    assert.isTrue(last.wentDown)
    assert.strictEqual(last.error.kind, "provider_unreachable")
    assert.include(breaker.downNotice()!, "attempts without an answer in a row for 30 s or more")
    assert.isTrue(breaker.snapshot().down!.silent)
    // An attempt still in flight that times out now reports the same cause.
    assert.strictEqual(breaker.recordFailure(hung(), 151_000).error.kind, "provider_unreachable")
  })

  it("any answer in between resets the count: a slow provider that still answers is never down", () => {
    const breaker = health(3, 30)
    for (let at = 0; at <= 600_000; at += 10_000) {
      breaker.recordFailure(hung(), at)
      breaker.recordFailure(hung(), at + 1)
      if (at % 20_000 === 0) breaker.recordSuccess()
      else breaker.recordFailure(answered(500, "internal_server"), at + 2)
    }
    assert.isFalse(breaker.isDown)
  })

  it("refusals and timeouts mixed in one streak take the grace period too", () => {
    const breaker = health(3, 30)
    breaker.recordFailure(refused(), 0)
    breaker.recordFailure(hung(), 1_000)
    assert.isFalse(breaker.recordFailure(refused(), 2_000).wentDown, "a timeout in the streak: it may be a stall")
    assert.isTrue(breaker.recordFailure(refused(), 30_000).wentDown)
    assert.isFalse(breaker.snapshot().down!.hadAnswered)
  })
})

// The breaker inside the live gateway, on virtual time: a fake transport stands in for the network.
const model: ModelConfig = {
  alias: "writer",
  provider: "acme",
  model: "m",
  maxParallelRequests: 4,
  onTruncated: "retry"
}

const completionBody = (finishReason: string) =>
  JSON.stringify({
    choices: [{ message: { content: "hi" }, finish_reason: finishReason }],
    usage: { prompt_tokens: 3, completion_tokens: 1 }
  })

interface FakeNetwork {
  calls: number
  up: boolean
  /** Answers still to come cut off by their token limit (`finish_reason: "length"`). */
  truncated?: number
  /** Answers still to come as a 200 with a body that is not a completion. */
  garbled?: number
}

const fakeTransport = (network: FakeNetwork): ProviderTransportShape => ({
  post: () =>
    Effect.suspend(() => {
      network.calls++
      if ((network.garbled ?? 0) > 0) {
        network.garbled!--
        return Effect.succeed<TransportResponse>({ status: 200, headers: {}, body: "<html>oops" })
      }
      const truncated = (network.truncated ?? 0) > 0
      if (truncated) network.truncated!--
      return network.up
        ? Effect.succeed<TransportResponse>({
          status: 200,
          headers: {},
          body: completionBody(truncated ? "length" : "stop")
        })
        : Effect.fail(
          new TransportError({
            cause: Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:9"), { code: "ECONNREFUSED" })
          })
        )
    })
})

const gateway = (
  network: FakeNetwork,
  after: { consecutiveFailures: number; graceSeconds: number; withoutSuccessSeconds?: number | null }
) => {
  const unreachableAfter = { withoutSuccessSeconds: 300, ...after }
  const runtime: ProviderRuntime = {
    name: "acme",
    baseUrl: "http://127.0.0.1:9/v1",
    apiKey: Redacted.make("sk-never-shown-0123456789"),
    timeoutSeconds: 5,
    maxResponseBytes: 1024,
    maxRetryAfterSeconds: 120,
    health: new ProviderHealth("acme", unreachableAfter, 120)
  }
  const counts = emptyRequestCounts()
  const tokens = emptyTokenTally()
  const layer = liveGatewayLayer({
    file: "config.yaml",
    models: [model],
    providers: new Map([["acme", runtime]]),
    counts,
    tokens
  }).pipe(
    // No executor retries here: each call is one attempt, so the counts below are exact.
    Layer.provide(ModelRequestExecutor.layer({ maxRetries: 0 })),
    Layer.provide(RequestAdmission.layer({ models: [{ provider: "acme", model: "m", maxParallelRequests: 4 }] })),
    Layer.provide(Layer.succeed(ProviderTransport, fakeTransport(network)))
  )
  return { runtime, counts, tokens, layer }
}

const call = ModelGateway.use((g) =>
  Effect.flip(g.complete({ column: "review", model, messages: [{ role: "user", content: "hi" }] }))
)

describe("the live gateway with the breaker (virtual time)", () => {
  it.effect("a dead provider: N attempts reach the network, then calls fail at once as provider_unreachable", () => {
    const network = { calls: 0, up: false }
    const { counts, layer } = gateway(network, { consecutiveFailures: 3, graceSeconds: 30 })
    return Effect.gen(function*() {
      const errors = yield* Effect.forEach(Array.from({ length: 10 }), () => call)
      assert.strictEqual(network.calls, 3)
      assert.deepStrictEqual(errors.map((e) => e._tag).slice(0, 3), [
        "ModelAPIConnectionError",
        "ModelAPIConnectionError",
        "ModelProviderUnreachableError"
      ])
      for (const error of errors.slice(2)) {
        assert.strictEqual(error._tag, "ModelProviderUnreachableError")
        assert.strictEqual(error.providerMessage, "connect ECONNREFUSED 127.0.0.1:9")
        assert.include(error.message, "failed: connect ECONNREFUSED 127.0.0.1:9")
        assert.include(error.reason, "generating column 'review'")
      }
      assert.strictEqual(counts.attempts, 3)
      assert.strictEqual(counts.connectionFailures, 3)
      assert.strictEqual(counts.notSentProviderDown, 7)
    }).pipe(Effect.provide(layer))
  })

  it.effect("a provider that answered, then blips: calls go out for graceSeconds, then it is down", () => {
    const network = { calls: 0, up: true }
    const { runtime, layer } = gateway(network, { consecutiveFailures: 3, graceSeconds: 30 })
    return Effect.gen(function*() {
      const ok = yield* ModelGateway.use((g) =>
        g.complete({ column: "review", model, messages: [{ role: "user", content: "hi" }] })
      )
      assert.deepStrictEqual(ok, { content: "hi", truncated: false })
      network.up = false
      for (let second = 0; second < 30; second++) {
        const error = yield* call
        assert.strictEqual(error._tag, "ModelAPIConnectionError", `at ${second} s`)
        yield* TestClock.adjust("1 second")
      }
      assert.isFalse(runtime.health.isDown)
      assert.strictEqual(yield* Clock.currentTimeMillis, 30_000)
      assert.strictEqual((yield* call)._tag, "ModelProviderUnreachableError")
      const before = network.calls
      assert.strictEqual((yield* call)._tag, "ModelProviderUnreachableError")
      assert.strictEqual(network.calls, before, "no network traffic once down")
    }).pipe(Effect.provide(layer))
  })
})

describe("malformed answers in the live gateway", () => {
  it.effect("are tried again at once, in place, before the scheduler sees a failure", () => {
    const network = { calls: 0, up: true, garbled: 2 }
    const { counts, layer } = gateway(network, { consecutiveFailures: 3, graceSeconds: 30 })
    return Effect.gen(function*() {
      const content = yield* ModelGateway.use((g) =>
        g.complete({ column: "review", model, messages: [{ role: "user", content: "hi" }] })
      )
      assert.strictEqual(content.content, "hi")
      assert.strictEqual(network.calls, 3)
      assert.strictEqual(counts.malformedResponses, 2)
      // Three garbled answers in a row: the scheduler gets a malformed_response (policy retry), never a drop.
      network.garbled = 3
      const error = yield* call
      assert.strictEqual(error._tag, "ModelMalformedResponseError")
      assert.strictEqual(error.status, 200)
      assert.include(error.providerMessage ?? "", "not a chat completion")
    }).pipe(Effect.provide(layer))
  })
})

describe("truncated answers in the live gateway", () => {
  const ask = (onTruncated?: "retry" | "keep" | "drop") =>
    ModelGateway.use((g) =>
      g.complete({
        column: "review",
        model,
        messages: [{ role: "user", content: "hi" }],
        ...(onTruncated === undefined ? {} : { onTruncated })
      })
    )

  it.effect("fail as truncated (retried by the scheduler), are kept flagged, or drop the row at once", () => {
    const network = { calls: 0, up: true, truncated: 3 }
    const { counts, tokens, layer } = gateway(network, { consecutiveFailures: 3, graceSeconds: 30 })
    return Effect.gen(function*() {
      const retried = yield* Effect.flip(ask())
      assert.strictEqual(retried._tag, "ModelTruncatedResponseError")
      assert.strictEqual(retryPolicyOf(retried), "retry")
      const dropped = yield* Effect.flip(ask("drop"))
      assert.strictEqual(dropped._tag, "ModelTruncatedResponseError")
      assert.strictEqual(retryPolicyOf(dropped), "fail")
      assert.deepStrictEqual(yield* ask("keep"), { content: "hi", truncated: true })
      assert.deepStrictEqual(yield* ask("keep"), { content: "hi", truncated: false })
      assert.strictEqual(counts.truncated, 3)
      // Every answer's usage is counted, truncated ones included: the provider billed them.
      assert.deepStrictEqual(tokens.get("writer"), { promptTokens: 12, completionTokens: 4, answersWithoutUsage: 0 })
    }).pipe(Effect.provide(layer))
  })
})
