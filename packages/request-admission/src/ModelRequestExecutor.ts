/**
 * The executor: one lease per provider attempt. It acquires, calls, classifies the result into a release outcome
 * and a typed model error, releases, and retries what is worth retrying here (502/503/504 and connection
 * failures) on a jittered exponential `Schedule` — a fresh lease per attempt, none held while it sleeps. Rate
 * limits and admission errors are never retried here: the scheduler owns those.
 */
import {
  type ModelError,
  ProviderError,
  requestAdmissionRejectedError,
  requestAdmissionTimeoutError,
  toModelError
} from "@sluice/errors"
import { type RequestResourceKey, requestResourceLabel } from "@sluice/scheduling-resources"
import { Cause, Clock, Context, Duration, Effect, Exit, Layer, Random, Schedule, Schema } from "effect"
import { decodeConfig } from "./config.js"
import type {
  RequestAdmissionConfigError,
  RequestAdmissionQueueTimeout,
  RequestAdmissionShutdown,
  RequestAdmissionUnknownResource
} from "./errors.js"
import { internalsOf } from "./internal/AdmissionInternals.js"
import { RequestAdmission, type RequestAdmissionShape } from "./RequestAdmission.js"
import type { RequestLease } from "./RequestLease.js"
import { ReleaseOutcome, type RequestUsage } from "./ReleaseOutcome.js"

export interface ModelRequest {
  readonly resource: RequestResourceKey
  readonly group?: { readonly key: string; readonly weight: number } | undefined
  /** As on admission items: `undefined` = controller default, `null` = wait, `0` = try once. */
  readonly queueWaitTimeoutSeconds?: number | null | undefined
  /** What the call is for, used in error messages ("generating column 'review'"). */
  readonly purpose?: string | undefined
  /** Tokens the call is expected to use, charged to a `tokensPerMinute` budget (absent: `defaultEstimatedTokens`). */
  readonly estimatedTokens?: number | undefined
  /**
   * Reads the usage from a successful attempt's value (e.g. `(c) => ({ totalTokens: c.usage.total_tokens })`); the
   * release reports it, which corrects the `tokensPerMinute` budget. Typed loosely: it receives the attempt's `A`.
   */
  readonly usageOf?: ((value: never) => RequestUsage | undefined) | undefined
}

export interface AttemptContext {
  /** 1 for the first attempt, 2 for the first retry, … */
  readonly attempt: number
  readonly lease: RequestLease
}

const withDefault = <S extends Schema.Top>(schema: S, value: S["Encoded"]) =>
  schema.pipe(Schema.withDecodingDefault(Effect.succeed(value)))

/** The executor's retry policy, with its defaults: 3 retries of 502/503/504 and connection failures, 2 s, 4 s, 8 s. */
export const ModelRequestExecutorConfig = Schema.Struct({
  /** Retries after the first attempt. */
  maxRetries: withDefault(Schema.Int.check(Schema.isGreaterThanOrEqualTo(0)), 3),
  /** Delay before the first retry. */
  backoffBaseSeconds: withDefault(Schema.Finite.check(Schema.isGreaterThanOrEqualTo(0)), 2),
  /** Growth per retry (2: 2 s, 4 s, 8 s). */
  backoffFactor: withDefault(Schema.Finite.check(Schema.isGreaterThanOrEqualTo(1)), 2),
  /** Upper bound of any delay. */
  maxBackoffSeconds: withDefault(Schema.Finite.check(Schema.isGreaterThanOrEqualTo(0)), 60),
  /** Each delay is scaled by a uniform factor in [1 − jitter, 1 + jitter] from `Random`. */
  jitter: withDefault(Schema.Finite.check(Schema.isBetween({ minimum: 0, maximum: 1 })), 0.2),
  /** HTTP statuses retried here. */
  retryableStatuses: withDefault(Schema.Array(Schema.Int), [502, 503, 504])
})
export type ModelRequestExecutorConfig = typeof ModelRequestExecutorConfig.Type
/** What `ModelRequestExecutor.layer` takes: every field optional. */
export type ModelRequestExecutorConfigInput = typeof ModelRequestExecutorConfig.Encoded

export const defaultExecutorConfig: ModelRequestExecutorConfig = {
  maxRetries: 3,
  backoffBaseSeconds: 2,
  backoffFactor: 2,
  maxBackoffSeconds: 60,
  jitter: 0.2,
  retryableStatuses: [502, 503, 504]
}

const decodeExecutorConfig = decodeConfig(ModelRequestExecutorConfig)

export interface ModelRequestExecutorShape {
  readonly execute: <A, R>(
    request: ModelRequest,
    attempt: (context: AttemptContext) => Effect.Effect<A, ProviderError, R>
  ) => Effect.Effect<A, ModelError, R>
}

/** The release outcome of a finished attempt. */
export const outcomeOfAttempt = (exit: Exit.Exit<unknown, ProviderError>): ReleaseOutcome => {
  if (Exit.isSuccess(exit)) return ReleaseOutcome.success
  const failure = exit.cause.reasons.find(Cause.isFailReason)
  if (failure !== undefined && failure.error instanceof ProviderError) {
    const error = failure.error
    switch (error.kind) {
      case "rate_limit":
        return ReleaseOutcome.rateLimited(error.retryAfterSeconds)
      case "timeout":
        return ReleaseOutcome.providerTimeout
      default:
        return ReleaseOutcome.providerFailure(error.status)
    }
  }
  if (Cause.hasDies(exit.cause)) return ReleaseOutcome.unexpectedException
  return Cause.hasInterrupts(exit.cause) ? ReleaseOutcome.localCancelled : ReleaseOutcome.unexpectedException
}

/** The attempt's outcome, with the usage `request.usageOf` reads from a success. */
const releaseOutcomeOf = (request: ModelRequest, exit: Exit.Exit<unknown, ProviderError>): ReleaseOutcome => {
  const outcome = outcomeOfAttempt(exit)
  const usageOf = request.usageOf as ((value: unknown) => RequestUsage | undefined) | undefined
  return usageOf === undefined || !Exit.isSuccess(exit)
    ? outcome
    : ReleaseOutcome.withUsage(outcome, usageOf(exit.value))
}

type AdmissionError = RequestAdmissionQueueTimeout | RequestAdmissionUnknownResource | RequestAdmissionShutdown

const admissionError = (request: ModelRequest, error: AdmissionError): ModelError => {
  const { provider, model } = request.resource
  const resource = requestResourceLabel(request.resource)
  switch (error._tag) {
    case "RequestAdmissionQueueTimeout":
      return requestAdmissionTimeoutError({
        provider,
        model,
        resource,
        waitedMs: error.waitedMs,
        waitersAhead: error.waitersAhead,
        ...(request.purpose === undefined ? {} : { purpose: request.purpose })
      })
    case "RequestAdmissionUnknownResource":
      return requestAdmissionRejectedError({ provider, model, resource, rejection: "unknown_resource" })
    case "RequestAdmissionShutdown":
      return requestAdmissionRejectedError({ provider, model, resource, rejection: "shutdown" })
  }
}

/** Builds an executor over a controller. */
export const makeExecutor = (
  admission: RequestAdmissionShape,
  config: ModelRequestExecutorConfig = defaultExecutorConfig
): ModelRequestExecutorShape => {
  const internals = internalsOf(admission)
  const { maxRetries, backoffFactor: factor, jitter } = config
  const baseMs = config.backoffBaseSeconds * 1000
  const maxDelayMs = config.maxBackoffSeconds * 1000
  const retryable = new Set(config.retryableStatuses)

  /** Only a provider's own transient failures are retried here; admission errors never get this far. */
  const shouldRetry = (error: ProviderError | AdmissionError): boolean => {
    if (!(error instanceof ProviderError) || error.kind === "rate_limit") return false
    if (error.status !== undefined) return retryable.has(error.status)
    return error.kind === "api_connection"
  }

  /** base × factor^n, capped, each delay scaled by a uniform factor in [1 − jitter, 1 + jitter] from `Random`. */
  const backoff = Schedule.exponential(baseMs, factor).pipe(
    Schedule.modifyDelay(({ duration }) =>
      Effect.map(Random.next, (u) => {
        const nominal = Math.min(maxDelayMs, Duration.toMillis(duration))
        return Duration.millis(Math.min(maxDelayMs, nominal * (1 - jitter + 2 * jitter * u)))
      })
    )
  )

  /** The `model_request_*` events around an attempt; built only while somebody subscribes. */
  const observed = <A, R>(
    request: ModelRequest,
    call: Effect.Effect<A, ProviderError, R>,
    n: number,
    lease: RequestLease
  ): Effect.Effect<Exit.Exit<A, ProviderError>, never, R> =>
    Effect.withFiber((fiber) => {
      if (internals === undefined || !internals.listening()) return Effect.exit(call)
      internals.emit(fiber, {
        _tag: "model_request_started",
        resource: request.resource,
        group: lease.group,
        leaseId: lease.id,
        attempt: n
      })
      return Effect.flatMap(Clock.currentTimeMillis, (started) =>
        Effect.flatMap(Effect.exit(call), (exit) =>
          Effect.withFiber((fiber) => {
            if (internals.listening()) {
              const failure = Exit.isFailure(exit) ? exit.cause.reasons.find(Cause.isFailReason)?.error : undefined
              internals.emit(fiber, {
                _tag: "model_request_completed",
                resource: request.resource,
                group: lease.group,
                leaseId: lease.id,
                attempt: n,
                outcome: outcomeOfAttempt(exit).kind,
                ...(failure === undefined ? {} : { errorKind: failure.kind }),
                ...(failure?.status === undefined ? {} : { status: failure.status }),
                durationMs: fiber.getRef(Clock.Clock).currentTimeMillisUnsafe() - started
              })
            }
            return Effect.succeed(exit)
          })))
    })

  /**
   * One attempt in one lease: the call (interruptible, in its own tracing span), then — uninterruptibly — the
   * release with the attempt's outcome. The completed event comes before the release: the request ends, then its
   * lease.
   */
  const attemptOnce = <A, R>(
    request: ModelRequest,
    attempt: (context: AttemptContext) => Effect.Effect<A, ProviderError, R>,
    n: number
  ): Effect.Effect<A, ProviderError | AdmissionError, R> =>
    Effect.flatMap(
      admission.withLease(request, (lease) =>
        Effect.uninterruptibleMask((restore) => {
          const call = restore(
            Effect.suspend(() => attempt({ attempt: n, lease })).pipe(
              Effect.withSpan("ModelRequestExecutor.attempt", {
                attributes: {
                  "sluice.resource": requestResourceLabel(request.resource),
                  "sluice.attempt": n,
                  "sluice.lease": lease.id
                }
              }, { captureStackTrace: false })
            )
          )
          return Effect.flatMap(
            observed(request, call, n, lease),
            (exit) => Effect.as(admission.release(lease, releaseOutcomeOf(request, exit)), exit)
          )
        })),
      (exit) => exit
    )

  const execute = <A, R>(
    request: ModelRequest,
    attempt: (context: AttemptContext) => Effect.Effect<A, ProviderError, R>
  ): Effect.Effect<A, ModelError, R> =>
    Effect.suspend(() => {
      let n = 0
      return Effect.suspend(() => attemptOnce(request, attempt, ++n)).pipe(
        // The attempt's lease is released before the schedule sleeps.
        Effect.retry({ schedule: backoff, times: maxRetries, while: shouldRetry }),
        Effect.mapError((error) =>
          error instanceof ProviderError
            ? toModelError(error, request.purpose === undefined ? {} : { purpose: request.purpose })
            : admissionError(request, error)
        )
      )
    })

  return { execute }
}

export class ModelRequestExecutor extends Context.Service<ModelRequestExecutor, ModelRequestExecutorShape>()(
  "@sluice/request-admission/ModelRequestExecutor"
) {
  /** An executor over the `RequestAdmission` in context; a bad value fails with `RequestAdmissionConfigError`. */
  static layer(
    config: ModelRequestExecutorConfigInput = {}
  ): Layer.Layer<ModelRequestExecutor, RequestAdmissionConfigError, RequestAdmission> {
    return Layer.effect(ModelRequestExecutor, makeLayer(config))
  }
}

const makeLayer = Effect.fnUntraced(function*(input: ModelRequestExecutorConfigInput) {
  const config = yield* decodeExecutorConfig(input)
  const admission = yield* RequestAdmission
  return ModelRequestExecutor.of(makeExecutor(admission, config))
})

/** `execute` through the `ModelRequestExecutor` service. */
export const execute = <A, R>(
  request: ModelRequest,
  attempt: (context: AttemptContext) => Effect.Effect<A, ProviderError, R>
): Effect.Effect<A, ModelError, R | ModelRequestExecutor> =>
  ModelRequestExecutor.use((executor) => executor.execute(request, attempt))
