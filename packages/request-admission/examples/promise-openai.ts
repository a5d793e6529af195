// example-deps: openai@7.60.0 @sluice/mock-provider effect@4.1.0
import { startMockProvider } from "@sluice/mock-provider"
import { createAdmission, ModelRateLimitError } from "@sluice/request-admission/promise"
import { Effect, Exit, Scope } from "effect"
import OpenAI from "openai"

// A local stand-in for your provider: it really serves 4 requests at once and answers 429 (Retry-After: 1) above.
const scope = Scope.makeUnsafe()
const mock = await Effect.runPromise(
  Scope.provide(startMockProvider({ capacity: 4, latencyMs: { min: 10, max: 30 } }), scope)
)

// maxRetries: 0 — the SDK's own retries would wait out each 429 inside the admission slot, hiding it from AIMD.
const client = new OpenAI({ baseURL: mock.url, apiKey: "sk-local", maxRetries: 0 })

// Your account says 32 at once; admission finds the 4 the endpoint really serves, and retries every 429.
const admission = createAdmission({
  models: [{ provider: "openai", model: "gpt-4o-mini", maxParallelRequests: 32 }]
})

const prompts = Array.from({ length: 200 }, (_, i) => `Write one line about tent ${i}.`)
try {
  const answers = await Promise.all(
    prompts.map((prompt) =>
      admission.run({ provider: "openai", model: "gpt-4o-mini" }, async (signal) => {
        const completion = await client.chat.completions.create(
          { model: "gpt-4o-mini", messages: [{ role: "user", content: prompt }] },
          { signal } // aborted when the run is cancelled, times out, or admission closes
        )
        return completion.choices[0]?.message.content ?? ""
      })
    )
  )
  const stats = admission.stats()
  console.log(`${answers.length} answers; ${stats.rateLimited} calls were answered 429 and retried`)
  console.log(`limit found: ${stats.models[0]?.limit} of ${stats.models[0]?.maxParallelRequests}`)
} catch (error) {
  // A typed error: ModelRateLimitError after retry.maxAttempts 429s, ModelAuthenticationError, …
  if (error instanceof ModelRateLimitError) console.error("still rate limited:", error.message)
  throw error
} finally {
  await admission.close()
  await Effect.runPromise(Scope.close(scope, Exit.void))
}
