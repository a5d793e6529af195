import { ProviderError } from "@sluice/errors"
import { make as makeRequestAdmission, makeExecutor } from "@sluice/request-admission"
import { requestResourceKey } from "@sluice/scheduling-resources"
import { localMetadata, modelMetadata } from "@sluice/resolver"
import {
  type AdmissionPolicyName,
  type Column,
  makeScheduler,
  type SchedulerConfigError,
  type SchedulerRunError
} from "@sluice/scheduler"
import { Effect, Fiber, Random, Schedule } from "effect"
import { runVirtual } from "./virtualTime.js"

export interface Pressure725Options {
  readonly rows?: number
  /** Independent model columns on the one endpoint (default 8). */
  readonly columns?: number
  /** Mock provider capacity and `maxParallelRequests` (default 32). */
  readonly capacity?: number
  readonly maxInFlightTasks?: number
  readonly latencyMs?: readonly [number, number]
  readonly queueWaitTimeoutSeconds?: number
  readonly retryAfterSeconds?: number
  readonly seed?: number
  readonly policy?: AdmissionPolicyName
}

export interface Pressure725Report {
  readonly rowsRequested: number
  readonly rowsCompleted: number
  readonly rowsDropped: number
  readonly elapsedSeconds: number
  /** rows × columns × E[latency] / capacity + max latency. */
  readonly idealSeconds: number
  readonly ratio: number
  /** The same formula on the latencies actually drawn: provider busy seconds / capacity + max latency. */
  readonly measuredIdealSeconds: number
  readonly measuredRatio: number
  readonly requests: {
    readonly attempts: number
    readonly served: number
    readonly rateLimited: number
    readonly admissionTimeouts: number
  }
  readonly providerMaxConcurrent: number
  readonly maxRequestWaiters: number
  readonly maxModelTasksInFlight: number
  readonly leaks: { readonly taskLeases: number; readonly requestLeases: number; readonly requestWaiters: number }
}

/**
 * `pressure-725` on virtual time: 128 rows, a local seed and 8 independent model
 * columns on one endpoint of capacity 32, `maxInFlightTasks` 128, latency U[70, 210] ms from a seeded `Random`,
 * request queue-wait timeout 0.15 s. The provider is an in-process fake (at most `capacity` concurrent requests,
 * beyond that a 429 with Retry-After) behind the real `@sluice/request-admission` executor. The anchor dropped
 * 81/128 rows here before its fix; the scheduler's live `request:` gate keeps request waiters at zero.
 */
export const pressure725 = (
  options: Pressure725Options = {}
): Effect.Effect<Pressure725Report, SchedulerConfigError | SchedulerRunError> => {
  const rows = options.rows ?? 128
  const width = options.columns ?? 8
  const capacity = options.capacity ?? 32
  const [minLatency, maxLatency] = options.latencyMs ?? [70, 210]
  const retryAfterSeconds = options.retryAfterSeconds ?? 1
  const provider = { inFlight: 0, maxConcurrent: 0, served: 0, rejected: 0, busyMs: 0 }
  const resource = requestResourceKey("mock", "writer", "chat")

  const call = (latencyMs: number) =>
    Effect.suspend(() => {
      if (provider.inFlight >= capacity) {
        provider.rejected++
        return Effect.fail(
          new ProviderError({
            kind: "rate_limit",
            message: "over capacity",
            provider: "mock",
            model: "writer",
            status: 429,
            retryAfterSeconds
          })
        )
      }
      provider.inFlight++
      provider.busyMs += latencyMs
      provider.maxConcurrent = Math.max(provider.maxConcurrent, provider.inFlight)
      return Effect.sleep(latencyMs).pipe(
        Effect.ensuring(Effect.sync(() => provider.inFlight--)),
        Effect.tap(() => Effect.sync(() => provider.served++)),
        Effect.as("ok")
      )
    })

  const job = Effect.gen(function*() {
    const admission = yield* makeRequestAdmission({
      models: [{ provider: "mock", model: "writer", maxParallelRequests: capacity }],
      queueWaitTimeoutSeconds: options.queueWaitTimeoutSeconds ?? 0.15
    }).pipe(Effect.orDie)
    const executor = makeExecutor(admission)
    let maxWaiters = 0
    const sampler = yield* Effect.forkChild(
      admission.inspect.pipe(
        Effect.tap((i) => Effect.sync(() => void (maxWaiters = Math.max(maxWaiters, i.waiters)))),
        Effect.repeat(Schedule.spaced(5))
      ),
      { startImmediately: true }
    )
    const modelColumns: Array<Column> = Array.from({ length: width }, (_, k) => ({
      name: `text_${k + 1}`,
      strategy: "cell" as const,
      requires: ["topic"],
      scheduling: modelMetadata("mock", "writer", "chat", capacity),
      generate: () =>
        Random.nextBetween(minLatency, maxLatency).pipe(
          Effect.flatMap((latency) =>
            executor.execute({ resource, purpose: `text_${k + 1}` }, () => call(Math.round(latency)))
          ),
          Effect.map((text) => ({ [`text_${k + 1}`]: text }))
        )
    }))
    const scheduler = yield* makeScheduler({
      rows,
      bufferSize: rows,
      sink: { write: () => Effect.void },
      columns: [
        {
          name: "topic",
          strategy: "cell",
          scheduling: localMetadata(),
          generate: ({ row }) => Effect.succeed({ topic: ["shoes", "tents", "lamps"][row % 3] })
        },
        ...modelColumns
      ]
    }, {
      maxInFlightTasks: options.maxInFlightTasks ?? 128,
      requestCapacity: admission,
      admissionPolicy: options.policy ?? "bounded-borrow"
    })
    const result = yield* scheduler.run
    const stats = yield* scheduler.stats
    yield* Fiber.interrupt(sampler)
    const inspection = yield* admission.inspect
    return { result, maxWaiters, inspection, taskLeases: stats.taskLeases }
  }).pipe(Effect.scoped, Random.withSeed(options.seed ?? 7))

  return runVirtual(job).pipe(Effect.map(({ elapsedMs, value: { inspection, maxWaiters, result, taskLeases } }) => {
    const meanLatency = (minLatency + maxLatency) / 2000
    const idealSeconds = (rows * width * meanLatency) / capacity + maxLatency / 1000
    const elapsedSeconds = elapsedMs / 1000
    const measuredIdealSeconds = provider.busyMs / 1000 / capacity + maxLatency / 1000
    return {
      rowsRequested: rows,
      rowsCompleted: result.rowsCompleted,
      rowsDropped: result.rowsDropped,
      elapsedSeconds,
      idealSeconds,
      ratio: elapsedSeconds / idealSeconds,
      measuredIdealSeconds,
      measuredRatio: elapsedSeconds / measuredIdealSeconds,
      requests: {
        attempts: provider.served + provider.rejected,
        served: provider.served,
        rateLimited: provider.rejected,
        admissionTimeouts: result.outcomes["request_admission_timeout"] ?? 0
      },
      providerMaxConcurrent: provider.maxConcurrent,
      maxRequestWaiters: Math.max(maxWaiters, result.maxRequestWaiters),
      maxModelTasksInFlight: result.maxInFlightByResource["request:mock/writer"] ?? 0,
      leaks: { taskLeases, requestLeases: inspection.activeLeases, requestWaiters: inspection.waiters }
    }
  }))
}
