// example-deps: openai@7.60.0 @sluice/errors @sluice/scheduling-resources @sluice/mock-provider effect@4.1.0
import { providerErrorFromSdk } from "@sluice/errors"
import { startMockProvider } from "@sluice/mock-provider"
import { execute, ModelRequestExecutor, RequestAdmission } from "@sluice/request-admission"
import { requestResourceKey } from "@sluice/scheduling-resources"
import { Effect, Layer } from "effect"
import OpenAI from "openai"

const provider = "openai"
const model = "gpt-4o-mini"
const chat = requestResourceKey(provider, model, "chat")

// One call as an Effect: interruptible (the signal aborts the HTTP request), failing with a typed ProviderError.
const complete = (client: OpenAI, prompt: string) =>
  Effect.tryPromise({
    try: (signal) =>
      client.chat.completions.create({ model, messages: [{ role: "user", content: prompt }] }, { signal }),
    catch: (error) => error
  }).pipe(
    Effect.catch((error) => Effect.flatMap(providerErrorFromSdk(error, { provider, model }), Effect.fail)),
    Effect.map((completion) => completion.choices[0]?.message.content ?? "")
  )

// The controller, and the executor over it: a lease per attempt, 502/503/504 and connection failures retried.
const AdmissionLive = ModelRequestExecutor.layer().pipe(
  Layer.provideMerge(RequestAdmission.layer({ models: [{ provider, model, maxParallelRequests: 32 }] }))
)

const program = Effect.gen(function*() {
  // A local endpoint that really serves 4 at once (429 above that); closed with the program's scope.
  const mock = yield* startMockProvider({ capacity: 4, latencyMs: { min: 10, max: 30 } })
  const client = new OpenAI({ baseURL: mock.url, apiKey: "sk-local", maxRetries: 0 })
  const prompts = Array.from({ length: 100 }, (_, i) => `Write one line about tent ${i}.`)
  const answers = yield* Effect.forEach(
    prompts,
    (prompt) =>
      execute({ resource: chat, purpose: "answering a prompt" }, () => complete(client, prompt)).pipe(
        // execute leaves 429s to the owner of the work: here, retry them (admission holds the retry until the
        // cooldown ends, without a lease).
        Effect.retry({ while: (error) => error._tag === "ModelRateLimitError" })
      ),
    { concurrency: "unbounded" }
  )
  const pressure = yield* RequestAdmission.use((admission) => admission.pressure(chat))
  yield* Effect.log(`${answers.length} answers; limit found: ${pressure.currentLimit}`)
})

Effect.runPromise(program.pipe(Effect.scoped, Effect.provide(AdmissionLive)))
