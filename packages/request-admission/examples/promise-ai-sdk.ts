// example-deps: ai@7.0.185 @ai-sdk/openai-compatible@3.0.97 @sluice/mock-provider effect@4.1.0
import { createOpenAICompatible } from "@ai-sdk/openai-compatible"
import { startMockProvider } from "@sluice/mock-provider"
import { createAdmission } from "@sluice/request-admission/promise"
import { generateText } from "ai"
import { Effect, Exit, Scope } from "effect"

// A local endpoint that really serves 4 at once (429 above that).
const scope = Scope.makeUnsafe()
const mock = await Effect.runPromise(
  Scope.provide(startMockProvider({ capacity: 4, latencyMs: { min: 10, max: 30 } }), scope)
)
const endpoint = createOpenAICompatible({ name: "my-endpoint", baseURL: mock.url, apiKey: "sk-local" })

const admission = createAdmission({
  models: [{ provider: "my-endpoint", model: "my-model", maxParallelRequests: 32 }],
  attemptTimeoutSeconds: 60 // a call with no answer after a minute is aborted and counts as a timeout
})

// The AI SDK's APICallError (statusCode, responseHeaders) is read by providerErrorFromSdk: a 429 with its
// Retry-After reaches admission as a rate limit. maxRetries: 0, or the SDK retries it inside the slot.
const summarize = (text: string, group: string) =>
  admission.run({ provider: "my-endpoint", model: "my-model", group }, async (abortSignal) => {
    const result = await generateText({
      model: endpoint.chatModel("my-model"),
      prompt: `Summarize: ${text}`,
      maxRetries: 0,
      abortSignal
    })
    return result.text
  })

try {
  // Two tenants share the endpoint fairly: queued calls are served alternately, whoever queued first.
  const [a, b] = await Promise.all([
    Promise.all(Array.from({ length: 60 }, (_, i) => summarize(`report ${i}`, "tenant-a"))),
    Promise.all(Array.from({ length: 20 }, (_, i) => summarize(`memo ${i}`, "tenant-b")))
  ])
  const stats = admission.stats()
  console.log(`${a.length + b.length} summaries, ${stats.rateLimited} rate-limited calls retried`)
} finally {
  await admission.close()
  await Effect.runPromise(Scope.close(scope, Exit.void))
}
