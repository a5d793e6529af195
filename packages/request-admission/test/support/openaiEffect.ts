/**
 * The README example: put request admission in front of every OpenAI call — adaptive concurrency
 * (AIMD on 429s), Retry-After cooldowns, retries of 502/503/504, fair queueing, no leaked slots.
 *
 * `fromOpenAI` adapts any client shaped like openai-node's (`client.chat.completions.create`); the
 * rest only needs "an Effect that calls the model and fails with a ProviderError".
 */
import { type ModelError, type ProviderError, providerErrorFromUnknown } from "@sluice/errors"
import { requestResourceKey } from "@sluice/scheduling-resources"
import { Effect, Layer } from "effect"
import { execute, ModelRequestExecutor, RequestAdmission } from "../../src/index.js"

export const provider = "openai"
export const model = "gpt-4o-mini"
const chat = requestResourceKey(provider, model, "chat")

/** The part of openai-node this example uses. */
export interface ChatClient {
  readonly chat: {
    readonly completions: {
      create(
        body: { model: string; messages: Array<{ role: "user"; content: string }> },
        options?: { signal?: AbortSignal }
      ): Promise<{ choices: Array<{ message: { content: string | null } }> }>
    }
  }
}

/** One call to the model as an Effect: interruptible (aborts the HTTP request), typed failures. */
export type Complete = (prompt: string) => Effect.Effect<string, ProviderError>

export const fromOpenAI = (client: ChatClient): Complete => (prompt) =>
  Effect.tryPromise({
    try: (signal) =>
      client.chat.completions.create({ model, messages: [{ role: "user", content: prompt }] }, { signal }),
    catch: (error) => error
  }).pipe(
    // openai-node's APIError carries status and headers: 429 + Retry-After become a rate limit, and so on.
    Effect.catch((error) => Effect.flatMap(providerErrorFromUnknown(error, { provider, model }), Effect.fail)),
    Effect.map((completion) => completion.choices[0]?.message.content ?? "")
  )

/** Every prompt at once: admission decides how many calls really run. */
export const completeAll = (
  complete: Complete,
  prompts: ReadonlyArray<string>
): Effect.Effect<Array<string>, ModelError, ModelRequestExecutor> =>
  Effect.forEach(
    prompts,
    (prompt) => execute({ resource: chat, purpose: "answering a prompt" }, () => complete(prompt)),
    { concurrency: "unbounded" }
  )

/** The controller (your account's concurrency for this model is 32) and the executor over it. */
export const AdmissionLive = ModelRequestExecutor.layer().pipe(
  Layer.provideMerge(
    RequestAdmission.layer({ models: [{ provider, model, maxParallelRequests: 32 }] }).pipe(Layer.orDie)
  )
)

// With a real client:
//   import OpenAI from "openai"
//   const answers = await Effect.runPromise(
//     completeAll(fromOpenAI(new OpenAI()), prompts).pipe(Effect.provide(AdmissionLive))
//   )
