// openai-node and the AI SDK wrapped as Effects that fail with ProviderErrors.
import { createOpenAICompatible } from "@ai-sdk/openai-compatible"
import { type ProviderError, providerErrorFromSdk, retryPolicyOf, toModelError } from "@sluice/errors"
import { generateText } from "ai"
import { Effect } from "effect"
import OpenAI from "openai"

// openai-node. maxRetries: 0 — its default (2) retries 429s inside your admission lease and hides them.
export const openAiChat = (client: OpenAI, model: string) => (prompt: string): Effect.Effect<string, ProviderError> =>
  Effect.tryPromise({
    try: (signal) =>
      client.chat.completions.create({ model, messages: [{ role: "user", content: prompt }] }, { signal }),
    catch: (error) => error
  }).pipe(
    Effect.catch((error) => Effect.flatMap(providerErrorFromSdk(error, { provider: "openai", model }), Effect.fail)),
    Effect.map((completion) => completion.choices[0]?.message.content ?? "")
  )

export const openAiClient = (baseURL: string, apiKey: string) => new OpenAI({ baseURL, apiKey, maxRetries: 0 })

// The AI SDK, any provider package. maxRetries: 0 for the same reason.
export const aiSdkChat = (baseURL: string, apiKey: string, model: string) => {
  const provider = createOpenAICompatible({ name: "my-endpoint", baseURL, apiKey })
  return (prompt: string): Effect.Effect<string, ProviderError> =>
    Effect.tryPromise({
      try: (abortSignal) => generateText({ model: provider.chatModel(model), prompt, maxRetries: 0, abortSignal }),
      catch: (error) => error
    }).pipe(
      Effect.catch((error) =>
        Effect.flatMap(providerErrorFromSdk(error, { provider: "my-endpoint", model }), Effect.fail)
      ),
      Effect.map((result) => result.text)
    )
}

// Either way, a failure is now a typed model error with its policy: a 429 is a rate limit to wait out.
export const outcome = (call: Effect.Effect<string, ProviderError>) =>
  call.pipe(
    Effect.map((text) => ({ text })),
    Effect.catch((providerError) => {
      const error = toModelError(providerError, { purpose: "answering a prompt" })
      return Effect.succeed({
        tag: error._tag,
        policy: retryPolicyOf(error),
        retryAfterSeconds: error.retryAfterSeconds
      })
    })
  )
