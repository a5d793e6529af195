/**
 * `@sluice/request-admission/promise`: request admission for code that does not use Effect.
 *
 * ```ts
 * const admission = createAdmission({ models: [{ provider: "openai", model: "gpt-4o-mini", maxParallelRequests: 32 }] })
 * const completion = await admission.run({ provider: "openai", model: "gpt-4o-mini" }, (signal) =>
 *   client.chat.completions.create({ model: "gpt-4o-mini", messages }, { signal }))
 * await admission.close()
 * ```
 *
 * With `requestsPerMinute` / `tokensPerMinute` on a model, a run also waits for its budget: give `estimatedTokens`
 * and a `usage` reader (`(completion) => ({ totalTokens: completion.usage.total_tokens })`) to charge tokens.
 *
 * A thin layer over the Effect API: one `RequestAdmission` controller and one `ModelRequestExecutor` in a
 * `ManagedRuntime`. Each `run` is one `execute` (a lease per attempt, AIMD, cooldowns, fair groups, retries of
 * 502/503/504 and connection failures), retried through admission while the provider answers 429.
 */
import { type ModelError, type ModelRateLimitError, ProviderError, type ProviderIdentity } from "@sluice/errors"
import { requestResourceKey, requestResourceLabel, type RequestResourceKey } from "@sluice/scheduling-resources"
import { Cause, Duration, Effect, Exit, Fiber, Layer, ManagedRuntime, Result } from "effect"
import { decodeConfig, type RequestAdmissionConfigInput } from "./config.js"
import { RequestAdmissionConfigError } from "./errors.js"
import { AdmissionClosedError, closedError } from "./internal/promise/AdmissionClosedError.js"
import { AdmissionOptions, RetryOptions, RunTarget } from "./internal/promise/AdmissionOptions.js"
import {
  type AdmissionStats,
  type Counts,
  emptyCounts,
  type ModelStats,
  modelStats
} from "./internal/promise/AdmissionStats.js"
import { type Classifier, classifyFailure } from "./internal/promise/classify.js"
import { type ModelRequest, ModelRequestExecutor } from "./ModelRequestExecutor.js"
import { RequestAdmission } from "./RequestAdmission.js"

export { RequestAdmissionConfigError } from "./errors.js"
export { AdmissionClosedError } from "./internal/promise/AdmissionClosedError.js"
export type { AdmissionStats, ModelStats } from "./internal/promise/AdmissionStats.js"
export type { ClassifiedFailure, Classifier } from "./internal/promise/classify.js"
// The errors a run rejects with, re-exported so that `instanceof` checks use the very classes this package throws.
export {
  isModelError,
  ModelAPIConnectionError,
  ModelAPIError,
  ModelAuthenticationError,
  ModelBadRequestError,
  ModelContextWindowExceededError,
  type ModelError,
  ModelGenerationValidationError,
  ModelInternalServerError,
  ModelMalformedResponseError,
  ModelNotFoundError,
  ModelPermissionDeniedError,
  ModelProviderUnreachableError,
  ModelQuotaExceededError,
  ModelRateLimitError,
  ModelRequestAdmissionRejectedError,
  ModelRequestAdmissionTimeoutError,
  ModelResponseTooLargeError,
  ModelTimeoutError,
  ModelTruncatedResponseError,
  ModelUnprocessableEntityError,
  ModelUnsupportedCapabilityError,
  ModelUnsupportedParamsError,
  ProviderError,
  retryPolicyOf
} from "@sluice/errors"

/** What `createAdmission` takes: the controller's configuration, retries, an attempt timeout and a classifier. */
export interface AdmissionOptionsInput extends RequestAdmissionConfigInput {
  readonly retry?: {
    /**
     * Most calls one run makes while the provider answers 429 (default 10; `null`: until it answers). Each 429
     * goes back through admission, which holds the call until the model's cooldown ends or a probe succeeds.
     */
    readonly maxAttempts?: number | null | undefined
    /** Retries of 502/503/504 and connection failures (default 3), after 2 s, 4 s, 8 s (jittered). */
    readonly maxRetries?: number | undefined
    readonly backoffBaseSeconds?: number | undefined
    readonly backoffFactor?: number | undefined
    readonly maxBackoffSeconds?: number | undefined
    readonly jitter?: number | undefined
    readonly retryableStatuses?: ReadonlyArray<number> | undefined
  } | undefined
  /** An attempt with no answer after this long is aborted (its signal fires) and fails as a timeout. */
  readonly attemptTimeoutSeconds?: number | null | undefined
  /**
   * Your own reading of what a call threw; return `undefined` to leave it to the default, `providerErrorFromSdk`
   * (openai-node, the AI SDK, `effect/ai`, fetch and socket failures).
   */
  readonly classify?: Classifier | undefined
}

/** Where one run goes. `A` is what the call resolves with (read by `usage`). */
export interface RunRequest<A = unknown> {
  readonly provider: string
  readonly model: string
  /** `"chat"` (default), `"embedding"`, `"image"` or `"healthcheck"`: each has its own adaptive limit. */
  readonly domain?: "chat" | "embedding" | "image" | "healthcheck" | undefined
  /** A fairness group: a key (weight 1) or `{ key, weight }`. Queued runs are served fairly across groups. */
  readonly group?: string | { readonly key: string; readonly weight: number } | undefined
  /** Overrides `queueWaitTimeoutSeconds` for this run (`null`: wait until admitted; `0`: only if a slot is free). */
  readonly queueWaitTimeoutSeconds?: number | null | undefined
  /** What the call is for, quoted in error messages ("answering prompt 12"). */
  readonly purpose?: string | undefined
  /** Aborting it ends the run: the running call's signal fires, and `run` rejects with the signal's reason. */
  readonly signal?: AbortSignal | undefined
  /**
   * Tokens (prompt + completion) the call is expected to use: charged to the model's `tokensPerMinute` budget until
   * `usage` reports the real count. Absent: `defaultEstimatedTokens`.
   */
  readonly estimatedTokens?: number | undefined
  /**
   * Reads what a successful call used from its value, e.g. `(c) => ({ totalTokens: c.usage?.total_tokens ?? 0 })`
   * for openai-node; it corrects the `tokensPerMinute` budget. Absent: the estimate stands.
   */
  readonly usage?: ((value: A) => RunUsage | undefined) | undefined
}

/** What a call used, as `RunRequest.usage` reads it from the call's value. */
export interface RunUsage {
  readonly totalTokens: number
}

/** What each call is told besides its signal. */
export interface AttemptInfo {
  /** 1 for the first call of a run, 2 for the next, … (rate-limit and transient retries alike). */
  readonly attempt: number
}

export interface Admission {
  /**
   * Waits for a slot, calls `call` with an `AbortSignal` for this attempt, and releases the slot with the
   * outcome. Resolves with the call's value; rejects with a typed `ModelError` (`ModelRateLimitError` once
   * `retry.maxAttempts` calls were answered 429, `ModelAuthenticationError`, …), a `RequestAdmissionConfigError`
   * for a bad request, or an `AdmissionClosedError` after `close()`.
   */
  readonly run: <A>(
    request: RunRequest<A>,
    call: (signal: AbortSignal, info: AttemptInfo) => PromiseLike<A> | A
  ) => Promise<A>
  /** A plain snapshot: limits, calls in flight, queued runs, cooldowns, 429s, per model and in total. */
  readonly stats: () => AdmissionStats
  /** Aborts every unfinished run (each rejects with `AdmissionClosedError`) and releases everything. */
  readonly close: () => Promise<void>
}

const decodeOptions = decodeConfig(AdmissionOptions)
const decodeTarget = decodeConfig(RunTarget)

const runRequestKeys: ReadonlyArray<string> = [...Object.keys(RunTarget.fields), "signal", "usage"]

const rateLimited = (error: ModelError): error is ModelRateLimitError => error._tag === "ModelRateLimitError"

/** The first typed failure of a cause, else its first defect, else `undefined` (interrupted). */
const rejectionOf = (cause: Cause.Cause<unknown>): { readonly error: unknown } | undefined => {
  const failure = cause.reasons.find(Cause.isFailReason)
  if (failure !== undefined) return { error: failure.error }
  const defect = cause.reasons.find(Cause.isDieReason)
  return defect === undefined ? undefined : { error: defect.defect }
}

/** A misspelt option would otherwise be ignored without a word: it is an error naming the key. */
const unknownOption = (given: object, known: ReadonlyArray<string>, prefix: string): void => {
  const unknown = Object.keys(given).find((key) => !known.includes(key))
  if (unknown === undefined) return
  throw new RequestAdmissionConfigError({
    field: `${prefix}${unknown}`,
    message: `${prefix}${unknown}: unknown option; the options are ${known.map((k) => `${prefix}${k}`).join(", ")}`
  })
}

/**
 * Creates an admission controller for these models. Throws `RequestAdmissionConfigError` naming the field when an
 * option is out of range (`models[0].maxParallelRequests`, `retry.maxAttempts`, …).
 */
export const createAdmission = (options: AdmissionOptionsInput = {}): Admission => {
  const { classify, retry, attemptTimeoutSeconds, ...controllerConfig } = options
  if (classify !== undefined && typeof classify !== "function") {
    throw new RequestAdmissionConfigError({
      field: "classify",
      message: "Expected a function (error, { provider, model }) => ProviderError | { kind, … } | undefined"
    })
  }
  unknownOption(options, [...Object.keys(AdmissionOptions.fields), "classify"], "")
  if (typeof retry === "object" && retry !== null) unknownOption(retry, Object.keys(RetryOptions.fields), "retry.")
  const decoded = Effect.runSync(decodeOptions({ ...controllerConfig, retry, attemptTimeoutSeconds }))
  const { maxAttempts, ...executorConfig } = decoded.retry
  const runtime = ManagedRuntime.make(
    ModelRequestExecutor.layer(executorConfig).pipe(
      Layer.provideMerge(RequestAdmission.layer(controllerConfig)),
      // Both configurations were decoded above.
      Layer.orDie
    )
  )
  const { admission, executor } = runtime.runSync(
    Effect.all({ admission: RequestAdmission, executor: ModelRequestExecutor })
  )

  const countsByResource = new Map<string, Counts>()
  const total = emptyCounts()
  const countsOf = (label: string): Counts => {
    const known = countsByResource.get(label)
    if (known !== undefined) return known
    const counts = emptyCounts()
    countsByResource.set(label, counts)
    return counts
  }
  const count = (counts: Counts, field: keyof Counts) => {
    counts[field]++
    total[field]++
  }

  const running = new Set<Fiber.Fiber<unknown, unknown>>()
  let closed = false
  let closing: Promise<void> | undefined
  let finalStats: AdmissionStats | undefined

  const timeoutSeconds = decoded.attemptTimeoutSeconds

  const program = <A>(
    target: RunTarget,
    resource: RequestResourceKey,
    call: (signal: AbortSignal, info: AttemptInfo) => PromiseLike<A> | A,
    usage: ((value: A) => RunUsage | undefined) | undefined
  ): Effect.Effect<A, ModelError> => {
    const identity: ProviderIdentity = { provider: target.provider, model: target.model }
    const counts = countsOf(requestResourceLabel(resource))
    let calls = 0
    const attempt: Effect.Effect<A, ProviderError> = Effect.tryPromise({
      try: (signal) => {
        calls++
        count(counts, "attempts")
        return Promise.resolve(call(signal, { attempt: calls }))
      },
      catch: (error) => error
    }).pipe(
      Effect.catch((error) => Effect.flatMap(classifyFailure(classify, error, identity), Effect.fail)),
      (effect) =>
        timeoutSeconds === null ? effect : Effect.timeoutOrElse(effect, {
          duration: Duration.seconds(timeoutSeconds),
          // Interrupting the call aborts its signal.
          orElse: () =>
            Effect.fail(
              new ProviderError({
                ...identity,
                kind: "timeout",
                message: `No answer within ${timeoutSeconds} s (attemptTimeoutSeconds); the call was aborted.`,
                providerMessage: `no answer within attemptTimeoutSeconds (${timeoutSeconds} s)`
              })
            )
        }),
      Effect.tapError((error) => Effect.sync(() => error.kind === "rate_limit" && count(counts, "rateLimited")))
    )
    const group = typeof target.group === "string" ? { key: target.group, weight: 1 } : target.group
    const request: ModelRequest = {
      resource,
      ...(group === undefined ? {} : { group }),
      ...(target.queueWaitTimeoutSeconds === undefined
        ? {}
        : { queueWaitTimeoutSeconds: target.queueWaitTimeoutSeconds }),
      // Quoted in error messages ("… timed out while answering prompt 12.").
      purpose: target.purpose ?? "running a call through request admission",
      ...(target.estimatedTokens === undefined ? {} : { estimatedTokens: target.estimatedTokens }),
      ...(usage === undefined ? {} : { usageOf: usage })
    }
    return executor.execute(request, () => attempt).pipe(
      // A 429 goes back through admission: the cooldown it started holds the retry, without a lease.
      Effect.retry({ while: (error) => rateLimited(error) && (maxAttempts === null || calls < maxAttempts) }),
      Effect.onExit((exit) => Effect.sync(() => count(counts, Exit.isSuccess(exit) ? "succeeded" : "failed")))
    )
  }

  const run = <A>(
    request: RunRequest<A>,
    call: (signal: AbortSignal, info: AttemptInfo) => PromiseLike<A> | A
  ): Promise<A> => {
    const { signal, usage, ...where } = request
    if (closed) return Promise.reject(closedError(String(where.provider), String(where.model)))
    const misspelt = Object.keys(request).find((key) => !runRequestKeys.includes(key))
    if (misspelt !== undefined) {
      return Promise.reject(
        new RequestAdmissionConfigError({
          field: misspelt,
          message: `${misspelt}: unknown field of a run request; the fields are ${runRequestKeys.join(", ")}`
        })
      )
    }
    const decodedTarget = Effect.runSync(Effect.result(decodeTarget(where)))
    if (Result.isFailure(decodedTarget)) return Promise.reject(decodedTarget.failure)
    if (usage !== undefined && typeof usage !== "function") {
      return Promise.reject(
        new RequestAdmissionConfigError({
          field: "usage",
          message: "usage: expected a function (value) => ({ totalTokens }) | undefined"
        })
      )
    }
    const target = decodedTarget.success
    const resource = requestResourceKey(target.provider, target.model, target.domain)
    let fiber: Fiber.Fiber<unknown, unknown> | undefined
    return runtime.runPromiseExit(program(target, resource, call, usage), {
      signal,
      onFiberStart: (started) => {
        fiber = started
        running.add(started)
      }
    }).then((exit) => {
      if (fiber !== undefined) running.delete(fiber)
      if (Exit.isSuccess(exit)) return exit.value
      const rejection = rejectionOf(exit.cause)
      if (rejection !== undefined) throw rejection.error
      // Interrupted: by the caller's signal, else by close().
      throw signal?.aborted === true ? signal.reason : closedError(target.provider, target.model)
    })
  }

  const snapshot = Effect.gen(function*() {
    const inspection = yield* admission.inspect
    const pressures = new Map((yield* admission.pressures).map((p) => [requestResourceLabel(p.resource), p]))
    for (const registration of decoded.models) {
      const resource = requestResourceKey(registration.provider, registration.model, "chat")
      const label = requestResourceLabel(resource)
      if (!pressures.has(label)) pressures.set(label, yield* Effect.orDie(admission.pressure(resource)))
    }
    const models: Array<ModelStats> = []
    for (const [label, pressure] of pressures) {
      const pool = yield* Effect.orDie(admission.providerModelPressure(pressure.resource))
      models.push(modelStats(pressure, { ...countsOf(label) }, pool.budget))
    }
    const stats: AdmissionStats = {
      closed,
      running: running.size,
      inFlight: inspection.activeLeases,
      waiting: inspection.waiters,
      ...total,
      models
    }
    return stats
  })

  const stats = (): AdmissionStats => finalStats ?? runtime.runSync(snapshot)

  const close = (): Promise<void> => {
    if (closing !== undefined) return closing
    closed = true
    closing = runtime.runPromise(
      Effect.gen(function*() {
        yield* Fiber.interruptAll([...running])
        running.clear()
        finalStats = yield* snapshot
      })
    ).then(() => runtime.dispose())
    return closing
  }

  return { run, stats, close }
}

/** `AdmissionClosedError` and the typed errors of `run`, as one union for `catch` blocks. */
export type RunError = ModelError | AdmissionClosedError | RequestAdmissionConfigError
