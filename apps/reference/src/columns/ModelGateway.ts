import type { ModelError } from "@sluice/errors"
import { Context, type Effect } from "effect"
import type { ModelConfig, OnTruncated } from "../config/schema.js"
import type { TaskCorrelation } from "../events/EventLog.js"

export interface ChatMessage {
  readonly role: "system" | "user"
  readonly content: string
}

export interface ModelRequest {
  /** The column the call is for (used in error messages and events, never sent). */
  readonly column: string
  readonly model: ModelConfig
  readonly messages: ReadonlyArray<ChatMessage>
  /** Ask for JSON that follows this schema (OpenAI `response_format: json_schema`, `strict` when asked). */
  readonly responseFormat?: {
    readonly name: string
    readonly schema: Readonly<Record<string, unknown>>
    readonly strict?: boolean
  }
  /** What to do with an answer cut off by its token limit; default: the model's `onTruncated`. */
  readonly onTruncated?: OnTruncated
  /** The task the call is for (in `run.events`). */
  readonly task?: TaskCorrelation
}

/** A model's answer: its text, and whether it was cut off by its token limit (kept with `onTruncated: keep`). */
export interface ModelAnswer {
  readonly content: string
  readonly truncated: boolean
}

/**
 * How LLM columns reach a model: one chat completion, returning the message content. The live implementation
 * puts every attempt through request admission and the provider's HTTP client; tests use a fake.
 */
export class ModelGateway extends Context.Service<ModelGateway, {
  readonly complete: (request: ModelRequest) => Effect.Effect<ModelAnswer, ModelError>
}>()("@sluice/reference/ModelGateway") {}
