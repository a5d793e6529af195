import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { afterAll, beforeAll } from "vitest"
import { aiSdkChat, openAiChat, openAiClient, outcome } from "./support/sdks.js"
import { type FakeProvider, startFakeProvider } from "./sdk/fakeProvider.js"

describe("SDK calls wrapped as Effects that fail with ProviderErrors", () => {
  let server: FakeProvider
  beforeAll(async () => {
    server = await startFakeProvider()
  })
  afterAll(() => server.close())

  it.effect("openai-node: an answer, a 429 to wait out, a bad key, a reset connection", () =>
    Effect.gen(function*() {
      const client = openAiClient(server.baseUrl, "sk-test")
      const results = yield* Effect.forEach(
        ["ok", "rate-limited", "bad-key", "connection-reset"],
        (model) => outcome(openAiChat(client, model)("Say hello"))
      )
      assert.deepStrictEqual<ReadonlyArray<unknown>>(results, [
        { text: "Hello!" },
        { tag: "ModelRateLimitError", policy: "preserve", retryAfterSeconds: 2 },
        { tag: "ModelAuthenticationError", policy: "fail", retryAfterSeconds: undefined },
        { tag: "ModelAPIConnectionError", policy: "retry", retryAfterSeconds: undefined }
      ])
      assert.strictEqual(server.requests("rate-limited"), 1)
    }))

  it.effect("the AI SDK: an answer, a 429 to wait out, a 503, a too-long prompt", () =>
    Effect.gen(function*() {
      const results = yield* Effect.forEach(
        ["ok", "rate-limited-ms", "overloaded", "too-long"],
        (model) => outcome(aiSdkChat(server.baseUrl, "sk-test", model)("Say hello"))
      )
      assert.deepStrictEqual<ReadonlyArray<unknown>>(results, [
        { text: "Hello!" },
        { tag: "ModelRateLimitError", policy: "preserve", retryAfterSeconds: 1.5 },
        { tag: "ModelInternalServerError", policy: "retry", retryAfterSeconds: undefined },
        { tag: "ModelContextWindowExceededError", policy: "fail", retryAfterSeconds: undefined }
      ])
      assert.strictEqual(server.requests("rate-limited-ms"), 1)
    }))
})
