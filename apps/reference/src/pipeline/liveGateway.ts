import type { ModelError } from "@sluice/errors"
import { ModelRequestExecutor, type ModelRequest as ExecutorRequest } from "@sluice/request-admission"
import { requestResourceKey } from "@sluice/scheduling-resources"
import { Effect, Layer } from "effect"
import { makeChatCompletion, ProviderTransport } from "../client/index.js"
import { ModelGateway, type ModelRequest } from "../columns/ModelGateway.js"
import type { ModelConfig } from "../config/schema.js"
import type { ProviderRuntime } from "./providers.js"
import { countAttempt, countCallFailure, type RequestCounts } from "./requestCounters.js"

/**
 * The live `ModelGateway`: every attempt goes through the request-admission executor (one lease per attempt,
 * AIMD feedback, bounded retries of 5xx/connection failures) to the provider's OpenAI-compatible endpoint.
 *
 * The executor and the transport are taken from the context once, when the layer is built, so a call provides
 * nothing and looks nothing up; the executor's request (resource key and purpose) is built once per column and model.
 */
export const liveGatewayLayer = (providers: ReadonlyMap<string, ProviderRuntime>, counts: RequestCounts) =>
  Layer.effect(
    ModelGateway,
    Effect.gen(function*() {
      const executor = yield* ModelRequestExecutor
      const chatCompletion = makeChatCompletion(yield* ProviderTransport)
      const executorRequests = new Map<string, Map<ModelConfig, ExecutorRequest>>()
      const executorRequestOf = (request: ModelRequest): ExecutorRequest => {
        let byModel = executorRequests.get(request.column)
        if (byModel === undefined) executorRequests.set(request.column, byModel = new Map())
        let cached = byModel.get(request.model)
        if (cached === undefined) {
          cached = {
            resource: requestResourceKey(request.model.provider, request.model.model, "chat"),
            purpose: `generating column '${request.column}'`
          }
          byModel.set(request.model, cached)
        }
        return cached
      }
      const onFailure = (error: ModelError) => Effect.sync(() => countCallFailure(counts, error))
      const complete = (request: ModelRequest) => {
        // The config check guarantees every model's provider exists.
        const runtime = providers.get(request.model.provider) as ProviderRuntime
        return executor.execute(
          executorRequestOf(request),
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
          Effect.tapError(onFailure),
          Effect.map((completion) => completion.content)
        )
      }
      return ModelGateway.of({ complete })
    })
  )
