// A mock provider that serves one request at a time, asked the same thing three times at once; then its counters,
// as `GET /stats` reports them.
import { Effect } from "effect"
import { type MockChatCompletion, startMockProvider } from "@sluice/mock-provider"

const ask = (baseUrl: string, prompt: string) =>
  Effect.promise(async () => {
    const response = await fetch(`${baseUrl}/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: "mock-writer", messages: [{ role: "user", content: prompt }], max_tokens: 6 })
    })
    const body = await response.json()
    return { status: response.status, retryAfter: response.headers.get("retry-after"), body }
  })

const program = Effect.scoped(
  Effect.gen(function*() {
    // Closed with the scope: the server, its connections and any request still in service.
    const mock = yield* startMockProvider({ capacity: 1, latencyMs: { min: 500, max: 500 }, retryAfterSeconds: 2 })
    const answers = yield* Effect.forEach([1, 2, 3], () => ask(mock.url, "Review a tent."), {
      concurrency: "unbounded"
    })
    const served = answers.find((answer) => answer.status === 200)!.body as MockChatCompletion
    const stats = yield* mock.stats // the same object as GET {origin}/stats
    return {
      statuses: answers.map((answer) => answer.status).sort(), // [200, 429, 429]: one slot, no queue
      retryAfter: answers.find((answer) => answer.status === 429)!.retryAfter, // "2"
      choice: served.choices[0], // cut at max_tokens: finish_reason "length"
      usage: served.usage,
      stats: {
        served: stats.served,
        rejected429: stats.rejected429,
        serverErrors: stats.serverErrors,
        maxConcurrent: stats.maxConcurrent
      }
    }
  })
)

console.log(JSON.stringify(await Effect.runPromise(program)))
