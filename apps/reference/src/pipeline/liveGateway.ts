import { type ModelError, type ProviderError, toModelError, truncatedResponseError } from "@sluice/errors"
import {
  type AttemptContext,
  ModelRequestExecutor,
  type ModelRequest as ExecutorRequest
} from "@sluice/request-admission"
import { requestResourceKey } from "@sluice/scheduling-resources"
import { Clock, Console, Effect, Exit, Layer } from "effect"
import {
  type ChatCompletion,
  type ChatCompletionRequest,
  makeChatCompletion,
  ProviderTransport
} from "../client/index.js"
import { estimateTokens, usageOfCompletion } from "../client/tokenBudget.js"
import { type ModelAnswer, ModelGateway, type ModelRequest } from "../columns/ModelGateway.js"
import type { ModelConfig } from "../config/schema.js"
import { EventLog } from "../events/EventLog.js"
import { resolveModelHeaders, tokenLimitOf, wireRequestOf } from "./modelRequests.js"
import type { ProviderRuntime } from "./providers.js"
import {
  countAttempt,
  countCallFailure,
  countNotSent,
  countTokens,
  type RequestCounts,
  type TokenTally
} from "./requestCounters.js"

export interface LiveGatewayOptions {
  /** The config file, for errors that name it (an `extraHeaders` variable that is not set). */
  readonly file: string
  /** The config's models (for their `extraHeaders`). */
  readonly models: ReadonlyArray<ModelConfig>
  readonly providers: ReadonlyMap<string, ProviderRuntime>
  readonly counts: RequestCounts
  /** Token usage per model alias, from every answer's `usage`. */
  readonly tokens: TokenTally
  /** `run.events`: each attempt, with its task, row group, row and lease (default: off). */
  readonly events?: EventLog
  /** Answers per provider and HTTP status (`ok`, `429`, `connection`…), kept while events are on. */
  readonly statusCounts?: Map<string, Record<string, number>>
}

const statusOf = (exit: Exit.Exit<unknown, ProviderError>): string => {
  if (Exit.isSuccess(exit)) return "ok"
  const error = exit.cause.reasons.find((reason) => reason._tag === "Fail")
  if (error === undefined || error._tag !== "Fail") return "interrupted"
  const failure = error.error as { readonly status?: unknown; readonly kind?: unknown }
  return typeof failure.status === "number" && failure.status > 0 ? String(failure.status) : String(failure.kind)
}

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
 *
 * Every answer's `usage` is added to the model's token tally. An answer cut off by its token limit
 * (`finish_reason: "length"`) is counted, then kept (flagged) or failed as `truncated` — retried a bounded number
 * of times, or dropped at once — as the column's (else the model's) `onTruncated` says.
 */
export const liveGatewayLayer = (options: LiveGatewayOptions) =>
  Layer.effect(
    ModelGateway,
    Effect.gen(function*() {
      const { counts, providers, tokens } = options
      const headers = yield* resolveModelHeaders(options.file, options.models)
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
            purpose: `generating column '${request.column}'`,
            // The answer's usage corrects the model's tokensPerMinute budget, if it has one.
            usageOf: usageOfCompletion
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
      const events = options.events ?? EventLog.disabled
      const attemptOf = (
        runtime: ProviderRuntime,
        alias: string,
        wire: ChatCompletionRequest,
        request: ModelRequest
      ) =>
      (context: AttemptContext) => {
        const down = runtime.health.downError(wire.model)
        if (down !== undefined) {
          countNotSent(counts)
          return Effect.fail(down)
        }
        const call = chatCompletion(wire).pipe(
          Effect.onExit((exit) =>
            Effect.sync(() => {
              countAttempt(counts, exit)
              if (Exit.isSuccess(exit)) {
                runtime.health.recordSuccess()
                countTokens(tokens, alias, exit.value.usage)
              }
            })
          ),
          Effect.catch(judged(runtime))
        )
        return events.enabled ? withAttemptEvents(call, runtime.name, alias, request, context) : call
      }

      // Attempt events name the task and the lease, so a request event (by lease id) joins a scheduler event (by task).
      const withAttemptEvents = <A>(
        call: Effect.Effect<A, ProviderError>,
        provider: string,
        alias: string,
        request: ModelRequest,
        context: AttemptContext
      ): Effect.Effect<A, ProviderError> =>
        Effect.gen(function*() {
          const started = yield* Clock.currentTimeMillis
          const ids = {
            ...request.task,
            column: request.column,
            provider,
            model: alias,
            attempt: context.attempt,
            leaseId: context.lease.id
          }
          events.record({ _tag: "model_attempt_started", at: started, ...ids, waitedMs: context.lease.waitedMs })
          return yield* call.pipe(Effect.onExit((exit) =>
            Effect.map(Clock.currentTimeMillis, (at) => {
              const status = statusOf(exit)
              const byStatus = options.statusCounts?.get(provider) ?? {}
              byStatus[status] = (byStatus[status] ?? 0) + 1
              options.statusCounts?.set(provider, byStatus)
              events.record({ _tag: "model_attempt_completed", at, ...ids, status, durationMs: at - started })
            })
          ))
        })

      const execute = (
        request: ExecutorRequest,
        attempt: ReturnType<typeof attemptOf>,
        retriesLeft: number
      ): Effect.Effect<ChatCompletion, ModelError> =>
        executor.execute(request, attempt).pipe(
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
        const wire = wireRequestOf(
          runtime,
          request.model,
          headers.get(request.model),
          request.messages,
          request.responseFormat === undefined ? undefined : { type: "json_schema", ...request.responseFormat }
        )
        const onTruncated = request.onTruncated ?? request.model.onTruncated
        // A tokensPerMinute budget charges each call an estimate until its answer's usage comes back.
        const budgeted = request.model.tokensPerMinute === undefined
          ? executorRequest
          : { ...executorRequest, estimatedTokens: estimateTokens(wire) }
        return execute(budgeted, attemptOf(runtime, request.model.alias, wire, request), malformedRetriesInPlace)
          .pipe(
            Effect.flatMap((completion): Effect.Effect<ModelAnswer, ModelError> => {
              if (completion.finishReason !== "length") {
                return Effect.succeed({ content: completion.content, truncated: false })
              }
              counts.truncated++
              if (onTruncated === "keep") return Effect.succeed({ content: completion.content, truncated: true })
              return Effect.fail(truncatedResponseError({
                provider: runtime.name,
                model: request.model.model,
                maxTokens: tokenLimitOf(request.model),
                retry: onTruncated === "retry",
                purpose: executorRequest.purpose!
              }))
            }),
            Effect.tapError(onFailure)
          )
      }
      return ModelGateway.of({ complete })
    })
  )
