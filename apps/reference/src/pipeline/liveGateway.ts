import { type ModelError, type ProviderError, toModelError } from "@sluice/errors"
import { ModelRequestExecutor, type ModelRequest as ExecutorRequest } from "@sluice/request-admission"
import { requestResourceKey } from "@sluice/scheduling-resources"
import { Clock, Console, Effect, Exit, Layer } from "effect"
import { type ChatCompletionRequest, makeChatCompletion, ProviderTransport } from "../client/index.js"
import { ModelGateway, type ModelRequest } from "../columns/ModelGateway.js"
import type { ModelConfig } from "../config/schema.js"
import type { ProviderRuntime } from "./providers.js"
import { countAttempt, countCallFailure, countNotSent, type RequestCounts } from "./requestCounters.js"

/**
 * A malformed 2xx body is usually a glitch of one answer: it is tried again at once, in place (a fresh lease
 * each time), this many times before the scheduler sees the failure and applies its own bounded retries with
 * backoff. With the scheduler's 3 attempts, a row survives a provider that garbles 30 % of its answers with odds
 * of about 1 − 0.3⁹ per call, where the scheduler alone would give 1 − 0.3³ (a 2.7 % loss per call).
 */
const malformedRetriesInPlace = 2

/**
 * The live `ModelGateway`: every attempt goes through the request-admission executor (one lease per attempt,
 * AIMD feedback, bounded retries of 5xx/connection failures) to the provider's OpenAI-compatible endpoint, and
 * through the provider's circuit breaker (`ProviderHealth`): once a provider is down, its calls fail at once
 * without network traffic, as `provider_unreachable` (or `authentication`), with the OS's or the provider's words.
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
      const clock = yield* Clock.Clock
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

      /** The breaker's verdict on a failed attempt; said once on stderr when it declares the provider down. */
      const judged = (runtime: ProviderRuntime) => (error: ProviderError) => {
        const verdict = runtime.health.recordFailure(error, clock.currentTimeMillisUnsafe())
        if (!verdict.wentDown) return Effect.fail(verdict.error)
        return Console.error(runtime.health.downNotice() ?? "").pipe(Effect.andThen(Effect.fail(verdict.error)))
      }

      /** One attempt: refused locally while the provider is down, else sent, counted, and judged by the breaker. */
      const attemptOf = (runtime: ProviderRuntime, wire: ChatCompletionRequest) => () => {
        const down = runtime.health.downError(wire.model)
        if (down !== undefined) {
          countNotSent(counts)
          return Effect.fail(down)
        }
        return chatCompletion(wire).pipe(
          Effect.onExit((exit) =>
            Effect.sync(() => {
              countAttempt(counts, exit)
              if (Exit.isSuccess(exit)) runtime.health.recordSuccess()
            })
          ),
          Effect.catch(judged(runtime))
        )
      }

      const execute = (
        request: ExecutorRequest,
        attempt: ReturnType<typeof attemptOf>,
        retriesLeft: number
      ): Effect.Effect<string, ModelError> =>
        executor.execute(request, attempt).pipe(
          Effect.map((completion) => completion.content),
          Effect.catchTag(
            "ModelMalformedResponseError",
            (error) => retriesLeft > 0 ? execute(request, attempt, retriesLeft - 1) : Effect.fail(error)
          )
        )

      const complete = (request: ModelRequest) => {
        // The config check guarantees every model's provider exists.
        const runtime = providers.get(request.model.provider) as ProviderRuntime
        const executorRequest = executorRequestOf(request)
        const down = runtime.health.downError(request.model.model)
        if (down !== undefined) {
          // Not even a lease: the provider is known to be down.
          countNotSent(counts)
          return Effect.fail(toModelError(down, { purpose: executorRequest.purpose! }))
        }
        const wire: ChatCompletionRequest = {
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
          timeoutSeconds: runtime.timeoutSeconds,
          maxResponseBytes: runtime.maxResponseBytes,
          maxRetryAfterSeconds: runtime.maxRetryAfterSeconds
        }
        return execute(executorRequest, attemptOf(runtime, wire), malformedRetriesInPlace).pipe(
          Effect.tapError(onFailure)
        )
      }
      return ModelGateway.of({ complete })
    })
  )
