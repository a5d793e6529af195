// Acceptance of the Promise facade with real SDKs: an endpoint that really serves 4 at once (429 above that),
// declared as 32, and 200 prompts at once. Every prompt must be answered with at most 40 429s.
import { createOpenAICompatible } from "@ai-sdk/openai-compatible"
import { generateText } from "ai"
import OpenAI from "openai"
import { afterEach, assert, beforeEach, describe, it } from "vitest"
import { type Admission, createAdmission } from "../../src/promise.js"
import { type MockServer, startMock } from "./mockServer.js"

const provider = "mock"
const model = "mock-writer"
const prompts = Array.from({ length: 200 }, (_, i) => `Write one line about tent ${i}.`)

let mock: MockServer
let admission: Admission
beforeEach(async () => {
  mock = await startMock({ capacity: 4, latencyMs: { min: 10, max: 30 }, retryAfterSeconds: 1 })
  admission = createAdmission({ models: [{ provider, model, maxParallelRequests: 32 }] })
})
afterEach(async () => {
  await admission.close()
  await mock.close()
})

/** Runs every prompt through admission; returns what the endpoint and admission counted. */
const runAll = async (label: string, ask: (prompt: string, signal: AbortSignal) => Promise<string>) => {
  const answers = await Promise.all(
    prompts.map((prompt) => admission.run({ provider, model }, (signal) => ask(prompt, signal)))
  )
  const endpoint = await mock.stats()
  const stats = admission.stats()
  console.log(
    `${label}: ${answers.filter((a) => a.length > 0).length}/${prompts.length} answered, ` +
      `${endpoint.rejected429} 429s at the endpoint (${stats.rateLimited} seen by admission), ` +
      `max ${endpoint.maxConcurrent} in service, final limit ${stats.models[0]?.limit}`
  )
  assert.strictEqual(stats.inFlight + stats.waiting + stats.running, 0)
  return { answers, endpoint, stats }
}

describe("200 prompts, real capacity 4 declared as 32", () => {
  it("openai-node with maxRetries: 0 — every prompt answered, at most 40 429s", async () => {
    const client = new OpenAI({ baseURL: mock.url, apiKey: "sk-test", maxRetries: 0 })
    const { answers, endpoint, stats } = await runAll("openai-node maxRetries 0", async (prompt, signal) => {
      const completion = await client.chat.completions.create(
        { model, messages: [{ role: "user", content: prompt }] },
        { signal }
      )
      return completion.choices[0]?.message.content ?? ""
    })
    assert.strictEqual(answers.filter((a) => a.length > 0).length, 200)
    assert.strictEqual(endpoint.served, 200)
    assert.isAtMost(endpoint.rejected429, 40)
    // With maxRetries: 0, admission sees every 429 the endpoint sends.
    assert.strictEqual(stats.rateLimited, endpoint.rejected429)
  })

  it("openai-node with its default maxRetries (2), for comparison: the 429s are retried inside the slot", async () => {
    const client = new OpenAI({ baseURL: mock.url, apiKey: "sk-test" })
    const { answers, endpoint, stats } = await runAll("openai-node maxRetries 2", async (prompt, signal) => {
      const completion = await client.chat.completions.create(
        { model, messages: [{ role: "user", content: prompt }] },
        { signal }
      )
      return completion.choices[0]?.message.content ?? ""
    })
    assert.strictEqual(answers.length, 200)
    // The SDK swallows most 429s: admission sees fewer than the endpoint sent.
    assert.isBelow(stats.rateLimited, endpoint.rejected429)
  })

  it("the AI SDK with maxRetries: 0 — every prompt answered, at most 40 429s", async () => {
    const endpoint = createOpenAICompatible({ name: provider, baseURL: mock.url, apiKey: "sk-test" })
    const result = await runAll("AI SDK maxRetries 0", async (prompt, abortSignal) => {
      const { text } = await generateText({ model: endpoint.chatModel(model), prompt, maxRetries: 0, abortSignal })
      return text
    })
    assert.strictEqual(result.answers.filter((a) => a.length > 0).length, 200)
    assert.strictEqual(result.endpoint.served, 200)
    assert.isAtMost(result.endpoint.rejected429, 40)
    assert.strictEqual(result.stats.rateLimited, result.endpoint.rejected429)
  })

  it("the AI SDK with its default maxRetries (2), for comparison", async () => {
    const endpoint = createOpenAICompatible({ name: provider, baseURL: mock.url, apiKey: "sk-test" })
    const result = await runAll("AI SDK maxRetries 2", async (prompt, abortSignal) => {
      const { text } = await generateText({ model: endpoint.chatModel(model), prompt, abortSignal })
      return text
    })
    assert.strictEqual(result.answers.length, 200)
    assert.isBelow(result.stats.rateLimited, result.endpoint.rejected429)
  })
})
