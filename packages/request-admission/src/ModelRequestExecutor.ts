/**
 * The executor: one lease per provider attempt. It acquires, calls, classifies the result into a
 * release outcome and a typed model error, releases, and retries what is worth retrying here
 * (502/503/504 and connection failures) with jittered exponential backoff — never holding a lease
 * while it sleeps. Rate limits and admission errors are never retried here: the scheduler owns those.
 */
import {
  type ModelError,
  ProviderError,
  requestAdmissionRejectedError,
  requestAdmissionTimeoutError,
  toModelError
} from "@sluice/errors"
import { type RequestResourceKey, requestResourceLabel } from "@sluice/scheduling-resources"
import { Cause, Clock, Context, Effect, Exit, Layer, Random } from "effect"
import type { QueueTimeout, Shutdown, UnknownResource } from "./errors.js"
import { RequestAdmission, type RequestAdmissionShape } from "./RequestAdmission.js"
import type { RequestLease } from "./RequestLease.js"
import { ReleaseOutcome } from "./ReleaseOutcome.js"

export interface ModelRequest {
  readonly resource: RequestResourceKey
  readonly group?: { readonly key: string; readonly weight: number } | undefined
  /** As on admission items: `undefined` = controller default, `null` = wait, `0` = try once. */
  readonly queueWaitTimeoutSeconds?: number | null | undefined
  /** What the call is for, used in error messages ("generating column 'review'"). */
  readonly purpose?: string | undefined
}

export interface AttemptContext {
  /** 1 for the first attempt, 2 for the first retry, … */
  readonly attempt: number
  readonly lease: RequestLease
}

export interface ModelRequestExecutorConfig {
  /** Retries after the first attempt. Default 3. */
  readonly maxRetries?: number | undefined
  /** Delay before the first retry. Default 2 s. */
  readonly backoffBaseSeconds?: number | undefined
  /** Growth per retry. Default 2 (2 s, 4 s, 8 s). */
  readonly backoffFactor?: number | undefined
  /** Upper bound of any delay. Default 60 s. */
  readonly maxBackoffSeconds?: number | undefined
  /** Each delay is scaled by a uniform factor in [1 − jitter, 1 + jitter] from `Random`. Default 0.2. */
  readonly jitter?: number | undefined
  /** HTTP statuses retried here. Default 502, 503, 504. */
  readonly retryableStatuses?: ReadonlyArray<number> | undefined
}

export const defaultExecutorConfig = {
  maxRetries: 3,
  backoffBaseSeconds: 2,
  backoffFactor: 2,
  maxBackoffSeconds: 60,
  jitter: 0.2,
  retryableStatuses: [502, 503, 504]
} as const

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

const admissionError = (
  request: ModelRequest,
  error: QueueTimeout | UnknownResource | Shutdown
): ModelError => {
  const { provider, model } = request.resource
  const resource = requestResourceLabel(request.resource)
  switch (error._tag) {
    case "QueueTimeout":
      return requestAdmissionTimeoutError({
        provider,
        model,
        resource,
        waitedMs: error.waitedMs,
        waitersAhead: error.waitersAhead,
        ...(request.purpose === undefined ? {} : { purpose: request.purpose })
      })
    case "UnknownResource":
      return requestAdmissionRejectedError({ provider, model, resource, rejection: "unknown_resource" })
    case "Shutdown":
      return requestAdmissionRejectedError({ provider, model, resource, rejection: "shutdown" })
  }
}

/** Builds an executor over a controller. */
export const makeExecutor = (
  admission: RequestAdmissionShape,
  config: ModelRequestExecutorConfig = {}
): ModelRequestExecutorShape => {
  const maxRetries = Math.max(0, Math.floor(config.maxRetries ?? defaultExecutorConfig.maxRetries))
  const base = Math.max(0, config.backoffBaseSeconds ?? defaultExecutorConfig.backoffBaseSeconds) * 1000
  const factor = Math.max(1, config.backoffFactor ?? defaultExecutorConfig.backoffFactor)
  const maxDelay = Math.max(0, config.maxBackoffSeconds ?? defaultExecutorConfig.maxBackoffSeconds) * 1000
  const jitter = Math.min(1, Math.max(0, config.jitter ?? defaultExecutorConfig.jitter))
  const retryable = new Set(config.retryableStatuses ?? defaultExecutorConfig.retryableStatuses)

  /** Admission errors never get here: only a provider's own transient failures are retried. */
  const shouldRetry = (error: ProviderError): boolean => {
    if (error.kind === "rate_limit") return false
    if (error.status !== undefined) return retryable.has(error.status)
    return error.kind === "api_connection"
  }

  const backoff = Effect.fnUntraced(function*(retry: number) {
    const nominal = Math.min(maxDelay, base * factor ** retry)
    const u = yield* Random.next
    return Math.min(maxDelay, nominal * (1 - jitter + 2 * jitter * u))
  })

  /** The attempt, then its release with the outcome, in one region: the attempt is interruptible, the release not. */
  const attemptThenRelease = <A, R>(
    request: ModelRequest,
    attempt: (context: AttemptContext) => Effect.Effect<A, ProviderError, R>,
    n: number,
    lease: RequestLease
  ): Effect.Effect<Exit.Exit<A, ProviderError>, never, R> =>
    Effect.uninterruptibleMask((restore) => {
      const call = restore(Effect.suspend(() => attempt({ attempt: n, lease })))
      return Effect.flatMap(admission.listening, (listening) =>
        listening
          ? observedAttempt(request, call, n, lease)
          : Effect.flatMap(Effect.exit(call), (exit) =>
            Effect.as(admission.release(lease, outcomeOfAttempt(exit)), exit)))
    })

  /** As above, with the `model_request_started` / `_completed` events around the attempt (someone listens). */
  const observedAttempt = Effect.fnUntraced(function*<A, R>(
    request: ModelRequest,
    attempt: Effect.Effect<A, ProviderError, R>,
    n: number,
    lease: RequestLease
  ) {
    yield* admission.publish({
      kind: "model_request_started",
      resource: request.resource,
      group: lease.group,
      leaseId: lease.id,
      attempt: n
    })
    const started = yield* Clock.currentTimeMillis
    const exit = yield* Effect.exit(attempt)
    const outcome = outcomeOfAttempt(exit)
    const failure = Exit.isFailure(exit) ? exit.cause.reasons.find(Cause.isFailReason)?.error : undefined
    yield* admission.publish({
      kind: "model_request_completed",
      resource: request.resource,
      group: lease.group,
      leaseId: lease.id,
      attempt: n,
      outcome: outcome.kind,
      reason: failure?.kind,
      status: failure?.status,
      durationMs: (yield* Clock.currentTimeMillis) - started
    })
    // The completed event comes before the release: the model request ends, then its lease.
    yield* admission.release(lease, outcome)
    return exit
  })

  /**
   * One attempt in one lease (`withLease`: no scope, and a lease in one synchronous step when capacity is free). If
   * the fiber is interrupted while the attempt runs, the lease is released as `local_cancelled`.
   */
  const runAttempt = <A, R>(
    request: ModelRequest,
    attempt: (context: AttemptContext) => Effect.Effect<A, ProviderError, R>,
    n: number
  ): Effect.Effect<Exit.Exit<A, ProviderError>, ModelError, R> =>
    Effect.mapError(
      admission.withLease(request, (lease) => attemptThenRelease(request, attempt, n, lease)),
      (error) => admissionError(request, error)
    )

  const execute = <A, R>(
    request: ModelRequest,
    attempt: (context: AttemptContext) => Effect.Effect<A, ProviderError, R>
  ): Effect.Effect<A, ModelError, R> => {
    const loop = (n: number): Effect.Effect<A, ModelError, R> =>
      Effect.flatMap(runAttempt(request, attempt, n), (exit) => {
        if (Exit.isSuccess(exit)) return Effect.succeed(exit.value)
        const failure = exit.cause.reasons.find(Cause.isFailReason)
        if (failure === undefined) return Effect.failCause(exit.cause as Cause.Cause<never>)
        const error = failure.error
        if (n <= maxRetries && shouldRetry(error)) {
          // The attempt's scope is closed: no lease is held while sleeping.
          return Effect.flatMap(backoff(n - 1), (delay) => Effect.andThen(Effect.sleep(delay), loop(n + 1)))
        }
        return Effect.fail(toModelError(error, request.purpose === undefined ? {} : { purpose: request.purpose }))
      })
    return loop(1)
  }

  return { execute }
}

export class ModelRequestExecutor extends Context.Service<ModelRequestExecutor, ModelRequestExecutorShape>()(
  "@sluice/request-admission/ModelRequestExecutor"
) {
  static layer(config: ModelRequestExecutorConfig = {}): Layer.Layer<ModelRequestExecutor, never, RequestAdmission> {
    return Layer.effect(
      ModelRequestExecutor,
      RequestAdmission.useSync((admission) => ModelRequestExecutor.of(makeExecutor(admission, config)))
    )
  }
}

/** `execute` through the `ModelRequestExecutor` service. */
export const execute = <A, R>(
  request: ModelRequest,
  attempt: (context: AttemptContext) => Effect.Effect<A, ProviderError, R>
): Effect.Effect<A, ModelError, R | ModelRequestExecutor> =>
  ModelRequestExecutor.use((executor) => executor.execute(request, attempt))
