import { assert, describe, it } from "@effect/vitest"
import type { ProviderError } from "@sluice/errors"
import { Ajv } from "ajv"
import { Duration, Effect, Exit, Fiber, Logger, Redacted, References, Scope } from "effect"
import { type ChatCompletionRequest, chatCompletion, OpenAiClientLayer } from "../../src/client/index.js"
import { startMockProvider } from "@sluice/mock-provider"
import { startSelfSignedServer } from "../support/selfSignedServer.js"
import { startScriptedServer } from "./scriptedServer.js"

const live = <A, E, R>(effect: Effect.Effect<A, E, R>) => effect.pipe(Effect.provide(OpenAiClientLayer))

const fast = { latencyMs: { min: 0, max: 0 } }

const requestTo = (baseUrl: string, overrides: Partial<ChatCompletionRequest> = {}): ChatCompletionRequest => ({
  provider: "local",
  baseUrl,
  apiKey: undefined,
  model: "mock-writer",
  messages: [{ role: "user", content: "Write a short review of tents." }],
  timeoutSeconds: 5,
  ...overrides
})

const failure = <A, R>(effect: Effect.Effect<A, ProviderError, R>) => Effect.flip(effect)

describe("chatCompletion against the mock provider", () => {
  it.live("decodes content, finish reason and usage", () =>
    live(Effect.gen(function*() {
      const provider = yield* startMockProvider(fast)
      const completion = yield* chatCompletion(requestTo(provider.url, { temperature: 0.2, maxTokens: 200 }))
      assert.isAbove(completion.content.length, 0)
      assert.strictEqual(completion.finishReason, "stop")
      assert.strictEqual(completion.model, "mock-writer")
      assert.isDefined(completion.usage)
      assert.isAbove(completion.usage!.promptTokens, 0)
      assert.isAbove(completion.usage!.completionTokens, 0)
      assert.strictEqual(
        completion.usage!.totalTokens,
        completion.usage!.promptTokens + completion.usage!.completionTokens
      )
      // trailing slashes on the base URL are fine
      const again = yield* chatCompletion(requestTo(`${provider.url}/`))
      assert.strictEqual(again.content, completion.content)
    })))

  it.live("sends the inference parameters a request sets (and only those), extra body last, extra headers", () =>
    live(Effect.gen(function*() {
      const server = yield* startScriptedServer
      const echo = (overrides: Partial<ChatCompletionRequest>) =>
        chatCompletion(requestTo(`${server.origin}/echo-request/v1`, overrides)).pipe(
          Effect.map((completion) => JSON.parse(completion.content))
        )
      const plain = yield* echo({})
      assert.deepStrictEqual(Object.keys(plain.body).sort(), ["messages", "model"])
      const full = yield* echo({
        temperature: 0.3,
        topP: 0.9,
        maxTokens: 64,
        maxCompletionTokens: 128,
        seed: 42,
        stop: ["\n\n", "END"],
        responseFormat: { type: "json_schema", name: "verdict", schema: { type: "object" }, strict: true },
        extraBody: { reasoning_effort: "low", temperature: 0.1 },
        extraHeaders: Redacted.make({ "X-Team": "data", Accept: "text/plain" })
      })
      assert.deepStrictEqual(full.body, {
        model: "mock-writer",
        messages: [{ role: "user", content: "Write a short review of tents." }],
        temperature: 0.1,
        top_p: 0.9,
        max_tokens: 64,
        max_completion_tokens: 128,
        seed: 42,
        stop: ["\n\n", "END"],
        response_format: {
          type: "json_schema",
          json_schema: { name: "verdict", schema: { type: "object" }, strict: true }
        },
        reasoning_effort: "low"
      })
      assert.strictEqual(full.headers["x-team"], "data")
      // The client's own headers cannot be replaced by extra headers.
      assert.strictEqual(full.headers["accept"], "application/json")
    })))

  it.live("429 → rate_limit with retryAfterSeconds and status", () =>
    live(Effect.gen(function*() {
      const provider = yield* startMockProvider({
        capacity: 1,
        retryAfterSeconds: 5,
        latencyMs: { min: 300, max: 300 }
      })
      const results = yield* Effect.forEach([1, 2], () => Effect.result(chatCompletion(requestTo(provider.url))), {
        concurrency: 2
      })
      const errors = results.flatMap((r) => r._tag === "Failure" ? [r.failure] : [])
      assert.strictEqual(errors.length, 1)
      assert.strictEqual(errors[0]!.kind, "rate_limit")
      assert.strictEqual(errors[0]!.status, 429)
      assert.strictEqual(errors[0]!.retryAfterSeconds, 5)
      assert.strictEqual(errors[0]!.provider, "local")
      assert.strictEqual(errors[0]!.model, "mock-writer")
    })))

  it.live("500 and 503 → internal_server", () =>
    live(Effect.gen(function*() {
      const provider = yield* startMockProvider({ ...fast, serverErrorRate: 1 })
      const errors = yield* Effect.forEach(Array.from({ length: 12 }), () =>
        failure(chatCompletion(requestTo(provider.url))))
      assert.sameMembers([
        ...new Set(errors.map((e) =>
          e.status
        ))
      ], [500, 503])
      assert.isTrue(errors.every((e) => e.kind === "internal_server" && e.retryAfterSeconds === undefined))
    })))

  it.live("a hung request → timeout after ~timeoutSeconds, and the request is aborted", () =>
    live(Effect.gen(function*() {
      const provider = yield* startMockProvider({ timeoutRate: 1 })
      const [took, error] = yield* Effect.timed(
        failure(chatCompletion(requestTo(provider.url, { timeoutSeconds: 0.3 })))
      )
      assert.strictEqual(error.kind, "timeout")
      assert.strictEqual(error.provider, "local")
      assert.isAtLeast(Duration.toMillis(took), 290)
      assert.isBelow(Duration.toMillis(took), 1500)
      // the socket was closed: the server saw its client go away and freed the slot
      yield* Effect.sleep("100 millis")
      const stats = yield* provider.stats
      assert.strictEqual(stats.abandoned, 1)
      assert.strictEqual(stats.inFlight, 0)
    })))

  it.live("interrupting an attempt aborts the HTTP request", () =>
    live(Effect.gen(function*() {
      const provider = yield* startMockProvider({ latencyMs: { min: 5000, max: 5000 } })
      const fiber = yield* Effect.forkChild(chatCompletion(requestTo(provider.url)), { startImmediately: true })
      while ((yield* provider.stats).inFlight === 0) yield* Effect.sleep("10 millis")
      yield* Fiber.interrupt(fiber)
      while ((yield* provider.stats).inFlight > 0) yield* Effect.sleep("10 millis")
      const stats = yield* provider.stats
      assert.strictEqual(stats.abandoned, 1)
      assert.strictEqual(stats.served, 0)
    })))

  it.live("connection refused (a closed port) → api_connection", () =>
    live(Effect.gen(function*() {
      const scope = yield* Scope.make()
      const provider = yield* startMockProvider(fast).pipe(Scope.provide(scope))
      yield* Scope.close(scope, Exit.void)
      const error = yield* failure(chatCompletion(requestTo(provider.url)))
      assert.strictEqual(error.kind, "api_connection")
      assert.isUndefined(error.status)
      // the OS's own words, code and address, reach the error
      assert.match(error.providerMessage ?? "", /^connect ECONNREFUSED 127\.0\.0\.1:\d+$/)
    })))

  it.live("an unresolvable host → api_connection with getaddrinfo's words", () =>
    live(Effect.gen(function*() {
      // `.invalid` never resolves (RFC 6761); without any DNS server the resolver says EAI_AGAIN instead.
      const error = yield* failure(chatCompletion(requestTo("http://sluice-test.invalid/v1")))
      assert.strictEqual(error.kind, "api_connection")
      assert.match(error.providerMessage ?? "", /^getaddrinfo (ENOTFOUND|EAI_AGAIN) sluice-test\.invalid$/)
    })))

  it.live("a certificate the client does not trust → api_connection with the TLS error", () =>
    live(Effect.gen(function*() {
      const server = yield* startSelfSignedServer
      const error = yield* failure(chatCompletion(requestTo(`${server.origin}/v1`)))
      assert.strictEqual(error.kind, "api_connection")
      assert.isUndefined(error.status)
      assert.strictEqual(error.providerMessage, "DEPTH_ZERO_SELF_SIGNED_CERT: self-signed certificate")
    })))

  it.live("a huge Retry-After is capped at maxRetryAfterSeconds", () =>
    live(Effect.gen(function*() {
      const server = yield* startScriptedServer
      const error = yield* failure(chatCompletion(requestTo(`${server.origin}/huge-retry-after/v1`)))
      assert.strictEqual(error.kind, "rate_limit")
      assert.strictEqual(error.retryAfterSeconds, 600)
      const capped = yield* failure(
        chatCompletion(requestTo(`${server.origin}/huge-retry-after/v1`, { maxRetryAfterSeconds: 120 }))
      )
      assert.strictEqual(capped.retryAfterSeconds, 120)
    })))

  it.live("json_schema response format: the content decodes and validates", () =>
    live(Effect.gen(function*() {
      const provider = yield* startMockProvider(fast)
      const schema = {
        type: "object",
        properties: {
          verdict: { type: "string", enum: ["positive", "negative"] },
          score: { type: "number", minimum: 0, maximum: 1 },
          quotes: { type: "array", items: { type: "string", maxLength: 40 }, minItems: 1, maxItems: 3 }
        },
        required: ["verdict", "score", "quotes"],
        additionalProperties: false
      }
      const completion = yield* chatCompletion(requestTo(provider.url, {
        responseFormat: { type: "json_schema", name: "verdict", schema, strict: true }
      }))
      const validate = new Ajv().compile(schema)
      assert.isTrue(validate(JSON.parse(completion.content)), JSON.stringify(validate.errors))
    })))
})

describe("chatCompletion against misbehaving servers", () => {
  it.live("a 2xx body that is not JSON → malformed_response with the status", () =>
    live(Effect.gen(function*() {
      const server = yield* startScriptedServer
      const error = yield* failure(chatCompletion(requestTo(`${server.origin}/bad-json/v1`)))
      assert.strictEqual(error.kind, "malformed_response")
      assert.strictEqual(error.status, 200)
      assert.include(error.providerMessage ?? "", "not a chat completion")
    })))

  it.live("a 2xx JSON body that is not a completion, or a message with no text → malformed_response", () =>
    live(Effect.gen(function*() {
      const server = yield* startScriptedServer
      const error = yield* failure(chatCompletion(requestTo(`${server.origin}/wrong-shape/v1`)))
      assert.strictEqual(error.kind, "malformed_response")
      assert.strictEqual(error.status, 200)
      // A null (or empty) content is no answer: never a value written as "".
      const filtered = yield* failure(chatCompletion(requestTo(`${server.origin}/null-content/v1`)))
      assert.strictEqual(filtered.kind, "malformed_response")
      assert.strictEqual(filtered.providerMessage, "the message has no text (finish_reason: content_filter)")
      // no key, no Authorization header
      assert.deepStrictEqual(server.seenAuthorization, [undefined, undefined])
    })))
})

describe("the API key", () => {
  const key = "sk-test-9f8e7d6c5b4a3210secret"

  const assertNoKey = (error: ProviderError, context: string) => {
    const renderings = [
      String(error),
      error.message,
      JSON.stringify(error),
      JSON.stringify(error.cause ?? null),
      String(error.cause ?? ""),
      ...Object.values(error).map((value) => typeof value === "string" ? value : JSON.stringify(value) ?? "")
    ]
    for (const text of renderings) assert.notInclude(text, key, context)
    assert.notInclude(String(error.cause instanceof Error ? error.cause.stack : ""), key, context)
  }

  it.live("is sent as a bearer token but never appears in errors or logs", () => {
    const logged: Array<string> = []
    const capture = Logger.layer([Logger.make((options) => logged.push(JSON.stringify(options.message)))])
    return live(
      Effect.gen(function*() {
        const apiKey = Redacted.make(key)
        const server = yield* startScriptedServer
        // a server that echoes the Authorization header in its error message
        const echoed = yield* failure(chatCompletion(requestTo(`${server.origin}/echo-auth/v1`, { apiKey })))
        assert.strictEqual(server.seenAuthorization[0], `Bearer ${key}`)
        assert.strictEqual(echoed.kind, "authentication")
        assert.include(echoed.message, "[redacted]")
        assertNoKey(echoed, "echoed 401")

        const hung = yield* startMockProvider({ timeoutRate: 1 })
        assertNoKey(yield* failure(chatCompletion(requestTo(hung.url, { apiKey, timeoutSeconds: 0.2 }))), "timeout")

        const scope = yield* Scope.make()
        const closed = yield* startMockProvider(fast).pipe(Scope.provide(scope))
        yield* Scope.close(scope, Exit.void)
        assertNoKey(yield* failure(chatCompletion(requestTo(closed.url, { apiKey }))), "connection refused")

        const bad = yield* failure(chatCompletion(requestTo(`${server.origin}/bad-json/v1`, { apiKey })))
        assertNoKey(bad, "bad body")
        // the key itself prints as <redacted>
        assert.notInclude(String(apiKey), key)
        assert.notInclude(JSON.stringify({ apiKey }), key)
      }).pipe(Effect.provide(capture), Effect.provideService(References.MinimumLogLevel, "All"))
    ).pipe(
      Effect.ensuring(Effect.sync(() => {
        for (const line of logged) assert.notInclude(line, key)
      }))
    )
  })
})
