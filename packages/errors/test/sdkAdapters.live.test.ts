import { createOpenAICompatible } from "@ai-sdk/openai-compatible"
import { assert, describe, it } from "@effect/vitest"
import { generateText, RetryError } from "ai"
import { Effect } from "effect"
import { AiError } from "effect/ai"
import { TestClock } from "effect/testing"
import OpenAI from "openai"
import { afterAll, beforeAll } from "vitest"
import {
  isAiSdkError,
  isEffectAiError,
  isOpenAiError,
  type ProviderErrorKind,
  providerErrorFromSdk,
  retryPolicyOf,
  toModelError
} from "../src/index.js"
import { effectAiChat } from "./sdk/effectAiClient.js"
import { type FakeProvider, type Scenario, scenarios, startFakeProvider } from "./sdk/fakeProvider.js"

// Each SDK talks to a real loopback server that answers 429 + Retry-After, 503, 401, 400 and resets connections;
// whatever the SDK throws goes through `providerErrorFromSdk`, as an application would pass it.

interface Expected {
  readonly kind: ProviderErrorKind
  readonly status: number | undefined
  readonly retryAfterSeconds: number | undefined
  readonly message: string
  readonly modelError: string
}

const rateLimitDate = "Wed, 21 Oct 2026 07:28:07 GMT"

const answered = (model: Exclude<Scenario, "connection-reset" | "overloaded" | "ok">) =>
  scenarios[model].body.error.message

const expectations: ReadonlyArray<readonly [Scenario, Omit<Expected, "message"> & { readonly message?: string }]> = [
  ["rate-limited", {
    kind: "rate_limit",
    status: 429,
    retryAfterSeconds: 2,
    modelError: "ModelRateLimitError"
  }],
  ["rate-limited-ms", { kind: "rate_limit", status: 429, retryAfterSeconds: 1.5, modelError: "ModelRateLimitError" }],
  // the clock stands 7 s before the header's date
  ["rate-limited-date", { kind: "rate_limit", status: 429, retryAfterSeconds: 7, modelError: "ModelRateLimitError" }],
  // capped at 600 s like every Retry-After
  ["rate-limited-for-hours", {
    kind: "rate_limit",
    status: 429,
    retryAfterSeconds: 600,
    modelError: "ModelRateLimitError"
  }],
  ["out-of-quota", {
    kind: "quota_exceeded",
    status: 429,
    retryAfterSeconds: undefined,
    modelError: "ModelQuotaExceededError"
  }],
  ["overloaded", {
    kind: "internal_server",
    status: 503,
    retryAfterSeconds: undefined,
    message: scenarios.overloaded.body,
    modelError: "ModelInternalServerError"
  }],
  ["bad-key", {
    kind: "authentication",
    status: 401,
    retryAfterSeconds: undefined,
    modelError: "ModelAuthenticationError"
  }],
  ["too-long", {
    kind: "context_window_exceeded",
    status: 400,
    retryAfterSeconds: undefined,
    modelError: "ModelContextWindowExceededError"
  }],
  ["connection-reset", {
    kind: "api_connection",
    status: undefined,
    retryAfterSeconds: undefined,
    modelError: "ModelAPIConnectionError"
  }]
]

interface Sdk {
  readonly name: string
  /** The SDK's own recogniser for what it threw. */
  readonly recognises: (error: unknown) => boolean
  /** One chat call for `model`, succeeding with what the SDK threw. */
  readonly failure: (server: FakeProvider, model: Scenario) => Effect.Effect<unknown>
  readonly resetMessage: string
}

const prompt = "Say hello"

/** What a call that must fail failed with (a success is a defect). */
const failureOf = <A, E>(call: Effect.Effect<A, E>): Effect.Effect<E> => Effect.orDie(Effect.flip(call))

const sdks: ReadonlyArray<Sdk> = [
  {
    name: "openai-node",
    recognises: isOpenAiError,
    failure: (server, model) =>
      failureOf(Effect.tryPromise({
        // maxRetries: 0, or openai-node retries 429s and 5xx itself, inside the caller's admission lease
        try: () =>
          new OpenAI({ baseURL: server.baseUrl, apiKey: "sk-test", maxRetries: 0 }).chat.completions.create({
            model,
            messages: [{ role: "user", content: prompt }]
          }),
        catch: (error) => error
      })),
    resetMessage: "Provider 'openai' request failed: Connection error. (other side closed)"
  },
  {
    name: "AI SDK",
    recognises: isAiSdkError,
    failure: (server, model) =>
      failureOf(Effect.tryPromise({
        try: () =>
          generateText({
            model: createOpenAICompatible({ name: "fake", baseURL: server.baseUrl, apiKey: "sk-test" })
              .chatModel(model),
            prompt,
            maxRetries: 0
          }),
        catch: (error) => error
      })),
    resetMessage: "Provider 'openai' request failed: Cannot connect to API: other side closed"
  },
  {
    name: "effect/ai",
    recognises: isEffectAiError,
    failure: (server, model) => failureOf(effectAiChat(server.baseUrl, model)),
    resetMessage: "Provider 'openai' request failed: TransportError (other side closed)"
  }
]

for (const sdk of sdks) {
  describe(`providerErrorFromSdk with ${sdk.name}`, () => {
    let server: FakeProvider
    beforeAll(async () => {
      server = await startFakeProvider()
    })
    afterAll(() => server.close())

    for (const [model, expected] of expectations) {
      it.effect(`${model} → ${expected.kind}`, () =>
        Effect.gen(function*() {
          yield* TestClock.setTime(Date.parse(rateLimitDate) - 7_000)
          const thrown = yield* sdk.failure(server, model)
          assert.isTrue(sdk.recognises(thrown), `${sdk.name} threw something its adapter does not recognise`)
          const error = yield* providerErrorFromSdk(thrown, { provider: "openai", model })
          assert.deepStrictEqual(
            {
              kind: error.kind,
              status: error.status,
              retryAfterSeconds: error.retryAfterSeconds,
              message: error.message,
              provider: error.provider,
              model: error.model
            },
            {
              kind: expected.kind,
              status: expected.status,
              retryAfterSeconds: expected.retryAfterSeconds,
              message: expected.message ??
                (model === "connection-reset" ? sdk.resetMessage : answered(model as Parameters<typeof answered>[0])),
              provider: "openai",
              model
            }
          )
          assert.strictEqual(error.cause !== undefined, true, "the SDK's error is kept as the cause")
          assert.strictEqual(toModelError(error)._tag, expected.modelError)
          // maxRetries: 0 means the provider saw this call once: nothing was retried inside the lease
          assert.strictEqual(server.requests(model), 1)
        }))
    }
  })
}

describe("why the README says maxRetries: 0", () => {
  let server: FakeProvider
  beforeAll(async () => {
    server = await startFakeProvider()
  })
  afterAll(() => server.close())

  it.live("openai-node's default retries a 429 twice before the caller sees it", () =>
    Effect.gen(function*() {
      const thrown = yield* failureOf(Effect.tryPromise({
        try: () =>
          new OpenAI({ baseURL: server.baseUrl, apiKey: "sk-test" }).chat.completions.create({
            model: "rate-limited-briefly",
            messages: [{ role: "user", content: prompt }]
          }),
        catch: (error) => error
      }))
      assert.strictEqual(server.requests("rate-limited-briefly"), 3)
      assert.strictEqual((yield* providerErrorFromSdk(thrown, { provider: "openai", model: "x" })).kind, "rate_limit")
    }))

  it.live("the AI SDK's RetryError is unwrapped to its last 429", () =>
    Effect.gen(function*() {
      const thrown = yield* failureOf(Effect.tryPromise({
        try: () =>
          generateText({
            model: createOpenAICompatible({ name: "fake", baseURL: server.baseUrl, apiKey: "sk-test" })
              .chatModel("rate-limited-briefly"),
            prompt,
            maxRetries: 1
          }),
        catch: (error) => error
      }))
      assert.isTrue(RetryError.isInstance(thrown))
      const error = yield* providerErrorFromSdk(thrown, { provider: "openai", model: "x" })
      assert.deepStrictEqual([error.kind, error.status, error.retryAfterSeconds, error.message], [
        "rate_limit",
        429,
        0.001,
        "Rate limit reached."
      ])
      assert.strictEqual(retryPolicyOf(toModelError(error)), "preserve")
    }))

  it.live("a refused connection through the AI SDK is api_connection", () =>
    Effect.gen(function*() {
      const closed = yield* Effect.promise(() => startFakeProvider())
      yield* Effect.promise(() => closed.close())
      const thrown = yield* failureOf(Effect.tryPromise({
        try: () =>
          generateText({
            model: createOpenAICompatible({ name: "fake", baseURL: closed.baseUrl, apiKey: "sk-test" })
              .chatModel("ok"),
            prompt,
            maxRetries: 0
          }),
        catch: (error) => error
      }))
      const error = yield* providerErrorFromSdk(thrown, { provider: "openai", model: "x" })
      assert.strictEqual(error.kind, "api_connection")
      assert.isUndefined(error.status)
      assert.match(error.message, /^Provider 'openai' request failed: Cannot connect to API: .*ECONNREFUSED/)
    }))

  it.live("effect/ai's client fails with a real AiError the adapter reads", () =>
    Effect.gen(function*() {
      const thrown = yield* failureOf(effectAiChat(server.baseUrl, "rate-limited"))
      assert.isTrue(AiError.isAiError(thrown))
      assert.strictEqual(thrown.reason._tag, "RateLimitError")
    }))
})
