import type { ModelError } from "@sluice/errors"
import { Context, type Effect } from "effect"
import type { ModelConfig } from "../config/schema.js"

export interface ChatMessage {
  readonly role: "system" | "user"
  readonly content: string
}

export interface ModelRequest {
  /** The column the call is for (used in error messages and events, never sent). */
  readonly column: string
  readonly model: ModelConfig
  readonly messages: ReadonlyArray<ChatMessage>
  /** Ask for JSON that follows this schema (OpenAI `response_format: json_schema`). */
  readonly responseFormat?: { readonly name: string; readonly schema: Readonly<Record<string, unknown>> }
}

/**
 * How LLM columns reach a model: one chat completion, returning the message content. The live implementation
 * puts every attempt through request admission and the provider's HTTP client; tests use a fake.
 */
export class ModelGateway extends Context.Service<ModelGateway, {
  readonly complete: (request: ModelRequest) => Effect.Effect<string, ModelError>
}>()("@sluice/reference/ModelGateway") {}
