import { execute, type ModelRequestExecutor } from "@sluice/request-admission"
import { requestResourceKey } from "@sluice/scheduling-resources"
import { Effect, Layer } from "effect"
import { HttpClient } from "effect/http"
import { chatCompletion } from "../client/index.js"
import { ModelGateway, type ModelRequest } from "../columns/ModelGateway.js"
import type { ProviderRuntime } from "./providers.js"
import { countAttempt, countCallFailure, type RequestCounts } from "./requestCounters.js"

/**
 * The live `ModelGateway`: every attempt goes through the request-admission executor (one lease per attempt,
 * AIMD feedback, bounded retries of 5xx/connection failures) to the provider's OpenAI-compatible endpoint.
 */
export const liveGatewayLayer = (providers: ReadonlyMap<string, ProviderRuntime>, counts: RequestCounts) =>
  Layer.effect(
    ModelGateway,
    Effect.gen(function*() {
      const context = yield* Effect.context<HttpClient.HttpClient | ModelRequestExecutor>()
      const complete = (request: ModelRequest) => {
        // The config check guarantees every model's provider exists.
        const runtime = providers.get(request.model.provider) as ProviderRuntime
        return execute(
          {
            resource: requestResourceKey(request.model.provider, request.model.model, "chat"),
            purpose: `generating column '${request.column}'`
          },
          () =>
            chatCompletion({
              provider: runtime.name,
              baseUrl: runtime.baseUrl,
              apiKey: runtime.apiKey,
              model: request.model.model,
              messages: request.messages,
              ...(request.model.temperature === undefined ? {} : { temperature: request.model.temperature }),
              ...(request.model.maxTokens === undefined ? {} : { maxTokens: request.model.maxTokens }),
              ...(request.responseFormat === undefined
                ? {}
                : { responseFormat: { type: "json_schema" as const, ...request.responseFormat } }),
              timeoutSeconds: runtime.timeoutSeconds
            }).pipe(Effect.onExit((exit) => Effect.sync(() => countAttempt(counts, exit))))
        ).pipe(
          Effect.tapError((error) => Effect.sync(() => countCallFailure(counts, error))),
          Effect.map((completion) => completion.content),
          Effect.provide(context)
        )
      }
      return ModelGateway.of({ complete })
    })
  )
