// example-deps: openai@7.60.0 ai@7.0.185 @ai-sdk/openai-compatible@3.0.97 @sluice/mock-provider effect@4.1.0
import { createOpenAICompatible } from "@ai-sdk/openai-compatible"
import { providerErrorFromSdk, retryPolicyOf, toModelError } from "@sluice/errors"
import { startMockProvider } from "@sluice/mock-provider"
import { generateText, jsonSchema, Output } from "ai"
import { Effect, Exit, Scope } from "effect"
import { AiError } from "effect/ai"
import { FetchHttpClient, HttpClient, HttpClientRequest } from "effect/http"
import OpenAI from "openai"

// A local endpoint with one slot: of three calls at once, one is answered and two get 429 with Retry-After: 2.
const scope = Scope.makeUnsafe()
const mock = await Effect.runPromise(
  Scope.provide(startMockProvider({ capacity: 1, latencyMs: { min: 300, max: 300 }, retryAfterSeconds: 2 }), scope)
)
const model = "mock-writer"
const identity = { provider: "local", model }

// Whatever an SDK threw becomes a ProviderError (kind, status, Retry-After, the provider's message), then a typed
// model error whose policy says what to do: preserve (wait and retry until answered), retry (a few times), fail.
const classify = (thrown: unknown) =>
  Effect.runPromise(providerErrorFromSdk(thrown, identity)).then((providerError) => {
    const error = toModelError(providerError, { purpose: "answering a prompt" })
    return {
      tag: error._tag,
      policy: retryPolicyOf(error),
      retryAfterSeconds: error.retryAfterSeconds,
      message: error.message.split("\n")[0]
    }
  })
const messages = [{ role: "user" as const, content: "Review a tent." }]

// openai-node: APIError and its subclasses. maxRetries: 0, or it retries 429s itself and you never see them.
const openai = new OpenAI({ baseURL: mock.url, apiKey: "sk-local", maxRetries: 0 })
const viaOpenAi = () => openai.chat.completions.create({ model, messages }).then(() => ({ answered: true }), classify)

// The Vercel AI SDK: APICallError (statusCode, responseHeaders), RetryError. maxRetries: 0 for the same reason.
const endpoint = createOpenAICompatible({ name: "local", baseURL: mock.url, apiKey: "sk-local" })
const viaAiSdk = () =>
  generateText({ model: endpoint.chatModel(model), messages, maxRetries: 0 }).then(() => ({ answered: true }), classify)

// effect/ai: AiError, as an effect/ai provider raises it for an HTTP answer (here built by hand: effect 4.1 ships
// no OpenAI provider).
const viaEffectAi = () =>
  Effect.runPromise(
    Effect.gen(function*() {
      const response = yield* HttpClient.execute(
        HttpClientRequest.post(`${mock.url}/chat/completions`).pipe(
          HttpClientRequest.bodyJsonUnsafe({ model, messages })
        )
      )
      if (response.status === 200) return { answered: true }
      const body = yield* response.text
      const http = { response: { status: response.status, headers: response.headers }, body }
      const reason = AiError.reasonFromHttpStatus({ status: response.status, http })
      return yield* Effect.fail(AiError.make({ module: "Chat", method: "create", reason }))
    }).pipe(Effect.provide(FetchHttpClient.layer))
  ).catch(classify)

// An answer that is not what was asked for: structured output cut off by its token limit.
const cutOff = () =>
  generateText({
    model: endpoint.chatModel(model),
    messages,
    maxRetries: 0,
    maxOutputTokens: 3,
    output: Output.object({
      schema: jsonSchema<{ review: string }>({ type: "object", properties: { review: { type: "string" } } })
    })
  }).then(() => ({ answered: true }), classify)

try {
  // One line each: {"answered":true}, then twice {"tag":"ModelRateLimitError","policy":"preserve","retryAfterSeconds":2,…}
  console.log("openai-node:", JSON.stringify(await Promise.all([viaOpenAi(), viaOpenAi(), viaOpenAi()])))
  console.log("AI SDK:", JSON.stringify(await Promise.all([viaAiSdk(), viaAiSdk(), viaAiSdk()])))
  console.log("effect/ai:", JSON.stringify(await Promise.all([viaEffectAi(), viaEffectAi(), viaEffectAi()])))
  // {"tag":"ModelMalformedResponseError","policy":"retry",…,"message":"… cut off at its token limit …"}
  console.log("cut off:", JSON.stringify(await cutOff()))
} finally {
  await Effect.runPromise(Scope.close(scope, Exit.void))
}
