import { Config, Effect, Redacted } from "effect"
import type { ChatCompletionRequest, ChatMessage, ResponseFormat } from "../client/index.js"
import { ConfigError } from "../config/ConfigError.js"
import type { ModelConfig } from "../config/schema.js"
import type { ProviderRuntime } from "./providers.js"

/** A model's headers with every `{ env: NAME }` read, kept `Redacted`: they may be keys. */
export type ResolvedHeaders = Redacted.Redacted<Readonly<Record<string, string>>>

/**
 * Reads every model's `extraHeaders` values that come from the environment. A missing variable is a config
 * error naming the model and the header. The values never enter the decoded config (which is written to the
 * output directory): they live here, `Redacted`, and go only into the request's headers.
 */
export const resolveModelHeaders = Effect.fnUntraced(function*(file: string, models: ReadonlyArray<ModelConfig>) {
  const resolved = new Map<ModelConfig, ResolvedHeaders>()
  for (const [index, model] of models.entries()) {
    if (model.extraHeaders === undefined) continue
    const headers: Record<string, string> = {}
    for (const [name, value] of Object.entries(model.extraHeaders)) {
      if (typeof value === "string") {
        headers[name] = value
        continue
      }
      const secret = yield* Config.Redacted(value.env).pipe(
        Effect.mapError(() =>
          new ConfigError({
            file,
            issues: [{
              path: `models[${index}].extraHeaders.${name}`,
              problem: `environment variable ${value.env} is not set`
            }]
          })
        )
      )
      headers[name] = Redacted.value(secret)
    }
    resolved.set(model, Redacted.make(headers))
  }
  return resolved as ReadonlyMap<ModelConfig, ResolvedHeaders>
})

/** The token limit a request sets, for messages about truncated answers. */
export const tokenLimitOf = (model: ModelConfig): number | undefined => model.maxCompletionTokens ?? model.maxTokens

/**
 * One attempt's wire request for a model: its provider's endpoint and key, the model's inference parameters (only
 * those it sets), its timeout (the model's, else the provider's), and its extra body and headers.
 */
export const wireRequestOf = (
  runtime: ProviderRuntime,
  model: ModelConfig,
  headers: ResolvedHeaders | undefined,
  messages: ReadonlyArray<ChatMessage>,
  responseFormat?: ResponseFormat
): ChatCompletionRequest => ({
  provider: runtime.name,
  baseUrl: runtime.baseUrl,
  apiKey: runtime.apiKey,
  model: model.model,
  messages,
  ...(model.temperature === undefined ? {} : { temperature: model.temperature }),
  ...(model.topP === undefined ? {} : { topP: model.topP }),
  ...(model.maxTokens === undefined ? {} : { maxTokens: model.maxTokens }),
  ...(model.maxCompletionTokens === undefined ? {} : { maxCompletionTokens: model.maxCompletionTokens }),
  ...(model.seed === undefined ? {} : { seed: model.seed }),
  ...(model.stop === undefined ? {} : { stop: model.stop }),
  ...(model.extraBody === undefined ? {} : { extraBody: model.extraBody }),
  ...(headers === undefined ? {} : { extraHeaders: headers }),
  ...(responseFormat === undefined ? {} : { responseFormat }),
  timeoutSeconds: model.timeoutSeconds ?? runtime.timeoutSeconds,
  maxResponseBytes: runtime.maxResponseBytes,
  maxRetryAfterSeconds: runtime.maxRetryAfterSeconds
})
