import type { Redacted } from "effect"
import { Schema } from "effect"

export interface ChatMessage {
  readonly role: "system" | "user" | "assistant"
  readonly content: string
}

/** Structured output: a JSON schema the answer must follow, or any JSON object. */
export type ResponseFormat =
  | {
    readonly type: "json_schema"
    /** The schema's name as OpenAI wants it (`[a-zA-Z0-9_-]{1,64}`). */
    readonly name: string
    readonly schema: unknown
    readonly strict?: boolean
  }
  | { readonly type: "json_object" }

/** One attempt of one chat-completions call. */
export interface ChatCompletionRequest {
  /** The provider's name (config `providers[].name`), for error messages and classification; default: `baseUrl`. */
  readonly provider?: string
  /** The OpenAI-compatible base URL, up to and including `/v1`. */
  readonly baseUrl: string
  /** Sent as `Authorization: Bearer …`; `undefined` sends no Authorization header (local servers). */
  readonly apiKey: Redacted.Redacted<string> | undefined
  readonly model: string
  readonly messages: ReadonlyArray<ChatMessage>
  readonly temperature?: number
  readonly topP?: number
  /** Sent as `max_tokens`. */
  readonly maxTokens?: number
  /** Sent as `max_completion_tokens` (reasoning models count their reasoning in it). */
  readonly maxCompletionTokens?: number
  readonly seed?: number
  readonly stop?: string | ReadonlyArray<string>
  /** Added to the body as they are, last: they win over the fields above. */
  readonly extraBody?: Readonly<Record<string, unknown>>
  /**
   * Added to every request's headers; kept `Redacted` (values may come from the environment and be secrets), and
   * scrubbed from error messages like the API key.
   */
  readonly extraHeaders?: Redacted.Redacted<Readonly<Record<string, string>>>
  readonly responseFormat?: ResponseFormat
  /** The whole attempt (connect, send, wait, read the body) must finish within this; else a `timeout` error. */
  readonly timeoutSeconds: number
  /** A longer 2xx body fails the attempt (`response_too_large`) and is read no further. Default 16 MiB. */
  readonly maxResponseBytes?: number
  /** The longest a `Retry-After` is taken at its word; longer values are capped to this. Default 600 s. */
  readonly maxRetryAfterSeconds?: number
}

export const defaultMaxResponseBytes = 16 * 1024 * 1024

export interface TokenUsage {
  readonly promptTokens: number
  readonly completionTokens: number
  readonly totalTokens: number
}

/** A decoded answer. */
export interface ChatCompletion {
  readonly id: string | undefined
  /** The model that answered (as the provider reports it; the requested model when it does not). */
  readonly model: string
  /** The first choice's message text (`""` when the provider sent `null`, e.g. a refusal). */
  readonly content: string
  /** `stop`, `length`, `content_filter`, … as the provider sent it. */
  readonly finishReason: string | undefined
  /** Absent when the provider sends no `usage`. */
  readonly usage: TokenUsage | undefined
}

/** The part of the OpenAI chat-completions answer we rely on; everything else is ignored. */
export const ChatCompletionWire = Schema.Struct({
  id: Schema.optional(Schema.String),
  model: Schema.optional(Schema.String),
  choices: Schema.Array(Schema.Struct({
    message: Schema.Struct({ content: Schema.optional(Schema.NullOr(Schema.String)) }),
    finish_reason: Schema.optional(Schema.NullOr(Schema.String))
  })).check(Schema.isMinLength(1)),
  usage: Schema.optional(Schema.NullOr(Schema.Struct({
    prompt_tokens: Schema.Finite,
    completion_tokens: Schema.Finite,
    total_tokens: Schema.optional(Schema.Finite)
  })))
})
export type ChatCompletionWire = typeof ChatCompletionWire.Type

// As the schema's structs: an object, not an array.
const isRecord = (u: unknown): u is Readonly<Record<string, unknown>> =>
  typeof u === "object" && u !== null && !Array.isArray(u)

const isOptional = (u: unknown, check: (u: unknown) => boolean) => u === undefined || check(u)
const isString = (u: unknown) => typeof u === "string"
const isNullOrString = (u: unknown) => u === null || typeof u === "string"
const isFinite = (u: unknown) => typeof u === "number" && Number.isFinite(u)

const isWireChoice = (u: unknown): boolean =>
  isRecord(u) && isRecord(u["message"]) && isOptional(u["message"]["content"], isNullOrString) &&
  isOptional(u["finish_reason"], isNullOrString)

const isWireUsage = (u: unknown): boolean =>
  u === null ||
  (isRecord(u) && isFinite(u["prompt_tokens"]) && isFinite(u["completion_tokens"]) &&
    isOptional(u["total_tokens"], isFinite))

/**
 * The hot-path check of a parsed body against {@link ChatCompletionWire}: it accepts exactly what the schema
 * accepts (for the fields we read; other fields are ignored by both), without building a parser result. A body it
 * rejects is decoded again with the schema, for the schema's error message.
 */
export const isChatCompletionWire = (u: unknown): u is ChatCompletionWire => {
  if (!isRecord(u)) return false
  const choices = u["choices"]
  if (!Array.isArray(choices) || choices.length < 1) return false
  for (const choice of choices) if (!isWireChoice(choice)) return false
  return isOptional(u["id"], isString) && isOptional(u["model"], isString) && isOptional(u["usage"], isWireUsage)
}

export const toChatCompletion = (wire: ChatCompletionWire, requestedModel: string): ChatCompletion => {
  const choice = wire.choices[0]!
  const usage = wire.usage ?? undefined
  return {
    id: wire.id,
    model: wire.model ?? requestedModel,
    content: choice.message.content ?? "",
    finishReason: choice.finish_reason ?? undefined,
    usage: usage === undefined ? undefined : {
      promptTokens: usage.prompt_tokens,
      completionTokens: usage.completion_tokens,
      totalTokens: usage.total_tokens ?? usage.prompt_tokens + usage.completion_tokens
    }
  }
}
