import { ModelRequestExecutor, RequestAdmission } from "@sluice/request-admission"
import { resolveScheduling, type SchedulingMetadata } from "@sluice/resolver"
import { Deferred, Effect, Fiber, Layer, Random, Redacted, Schedule } from "effect"
import * as PersistedQueue from "effect/persistence/PersistedQueue"
import * as Redis from "effect/persistence/Redis"
import { hostname } from "node:os"
import { OpenAiClientLayer } from "../client/index.js"
import { buildColumns } from "../columns/buildColumns.js"
import { loadConfigText } from "../config/loadConfig.js"
import { EventLog } from "../events/EventLog.js"
import { encodeNewGroup } from "../output/groupFile.js"
import { columnScheduling } from "../pipeline/columnScheduling.js"
import { liveGatewayLayer } from "../pipeline/liveGateway.js"
import { startProviders } from "../pipeline/providers.js"
import { emptyRequestCounts, emptyTokenTally } from "../pipeline/requestCounters.js"
import { requestAdmissionConfig } from "../pipeline/runPipeline.js"
import { redactSecrets } from "../output/redact.js"
import { commitGroup, isCommitted } from "./commitGroup.js"
import { DistributedRunError, type RedisUnavailableError } from "./errors.js"
import { generateGroup, type GroupGeneratorContext } from "./generateGroup.js"
import { groupQueueLayer, whileReachable } from "./redisConnection.js"
import { queueNameOf, runKeysOf, runsKey } from "./runKeys.js"
import { sharedAdmissionLayer } from "./sharedAdmission.js"
import { decodeRunSpec, encodeStopRecord, GroupTask, type RunSpec } from "./RunSpec.js"

export interface WorkerOptions {
  /** `--redis`, as given (for messages). */
  readonly redis: string
  /** `--run`; absent: the newest live run. */
  readonly runId: string | undefined
  /** Says one line on stderr. */
  readonly say: (line: string) => Effect.Effect<void>
}

const isLive = (runId: string) =>
  Effect.gen(function*() {
    const redis = yield* Redis.Redis
    const keys = runKeysOf(runId)
    const [status, alive] = yield* Effect.all([
      redis.send<string | null>("GET", keys.status),
      redis.send<number>("EXISTS", keys.coordinator)
    ])
    return status === "running" && alive === 1
  })

/** The run to join: `--run`, or the newest live one (waiting for one to start). */
const findRun = Effect.fnUntraced(function*(options: WorkerOptions) {
  const redis = yield* Redis.Redis
  const reachable = whileReachable(options.redis)
  if (options.runId !== undefined) {
    const text = yield* reachable(redis.send<string | null>("GET", runKeysOf(options.runId).spec))
    if (text === null) {
      return yield* new DistributedRunError({
        problem: `no run ${options.runId} in Redis (${options.redis}); check --run and --redis`,
        exitCode: 2
      })
    }
    return text
  }
  let said = false
  for (;;) {
    const ids = yield* reachable(redis.send<Array<string>>("LRANGE", runsKey, "0", "15"))
    for (const id of ids) {
      if (yield* reachable(isLive(id))) {
        const text = yield* reachable(redis.send<string | null>("GET", runKeysOf(id).spec))
        if (text !== null) return text
      }
    }
    if (!said) {
      said = true
      yield* options.say("waiting for a run to join (start one with: sluice generate CONFIG --redis URL)")
    }
    yield* Effect.sleep("1 second")
  }
})

/**
 * `sluice worker`: joins a distributed run and generates its row groups until the run ends. It reads the run's
 * spec from Redis, decodes the config with the same checks as the coordinator (and refuses one whose hash
 * differs), starts the providers, takes groups from the run's queue (as many at once as the config's
 * `maxConcurrentRowGroups`), and commits each through the group's first-writer-wins marker. Every call goes
 * through shared admission, so all workers together stay within each model's limits.
 */
export const runWorker = Effect.fnUntraced(function*(options: WorkerOptions) {
  const redis = yield* Redis.Redis
  const reachable = whileReachable(options.redis)
  const spec: RunSpec = yield* findRun(options).pipe(
    Effect.flatMap((text) =>
      decodeRunSpec(text).pipe(
        Effect.mapError((error) =>
          new DistributedRunError({ problem: `the run's spec in Redis is unreadable: ${error.message}`, exitCode: 2 })
        )
      )
    )
  )
  const keys = runKeysOf(spec.runId)
  const { timings } = spec
  const loaded = yield* loadConfigText(spec.configFile, spec.configText, { rows: spec.rows })
  if (loaded.hash !== spec.configHash) {
    return yield* new DistributedRunError({
      problem: `run ${spec.runId}: the config decodes differently here (another sluice version?); ` +
        "run the same sluice version on every machine",
      exitCode: 2
    })
  }
  const workerId = `${hostname().replace(/[^\w-]/g, "-")}-${process.pid}-${
    (yield* Random.nextIntBetween(0, 0xffffff)).toString(16)
  }`
  let attempts = 0
  const tokenOf = () => `${workerId}-${++attempts}`

  // Liveness: this worker's key (the coordinator reports workers whose key lapses), and the run's state.
  const heartbeat = reachable(redis.send("SET", keys.worker(workerId), "1", "PX", String(timings.leaseMillis)))
  yield* reachable(redis.send("SADD", keys.workers, workerId))
  yield* heartbeat
  yield* options.say(`worker ${workerId} joined run ${spec.runId} (${spec.out})`)

  const { config } = loaded
  const run = config.run
  const providers = yield* startProviders(loaded.file, config)
  const secrets = [...providers.values()].flatMap((p) => (p.apiKey === undefined ? [] : [Redacted.value(p.apiKey)]))
  const scheduling = yield* columnScheduling(loaded)
  const resolved = yield* resolveScheduling(scheduling, { maxInFlightTasks: run.maxInFlightTasks })
  const metadataByColumn = new Map<string, SchedulingMetadata>(
    [...resolved.generators].map(([name, generator]) => [name, generator.metadata])
  )
  const requests = emptyRequestCounts()
  const tokens = emptyTokenTally()
  // Shared admission leases live about as long as a group claim: a dead worker's slots return as its groups do.
  const admissionLayer = sharedAdmissionLayer(requestAdmissionConfig(loaded), {
    leaseTtlSeconds: Math.max(1, timings.leaseMillis / 1000)
  })
  const servicesLayer = liveGatewayLayer({
    file: loaded.file,
    models: config.models,
    providers,
    counts: requests,
    tokens,
    events: EventLog.disabled
  }).pipe(
    Layer.provide(ModelRequestExecutor.layer()),
    Layer.provide(OpenAiClientLayer),
    Layer.provideMerge(admissionLayer),
    Layer.merge(groupQueueLayer(timings))
  )
  const reportUsage = reachable(
    Effect.suspend(() =>
      redis.send("HSET", keys.usage, workerId, JSON.stringify({ requests, tokens: Object.fromEntries(tokens) }))
    )
  )

  return yield* Effect.gen(function*() {
    const admission = yield* RequestAdmission
    const context: GroupGeneratorContext = {
      loaded,
      columns: buildColumns(loaded.columns, { seed: run.seed, scheduling: metadataByColumn, events: false }),
      resolved,
      admission,
      secrets,
      redact: (text) => redactSecrets(text, secrets)
    }
    const queue = yield* PersistedQueue.make({
      name: queueNameOf(spec.runId),
      schema: GroupTask,
      maxAttempts: timings.maxDeliveries,
      retrySchedule: Schedule.spaced(timings.pollMillis)
    })

    const handle = (task: GroupTask) =>
      Effect.gen(function*() {
        // A redelivered group that some attempt already committed is not generated again.
        if (yield* reachable(isCommitted(keys, task.group))) return
        const outcome = yield* Effect.scoped(generateGroup(context, task.group))
        if (outcome.stop !== undefined || outcome.publication === undefined) {
          const stop = outcome.stop ?? { reason: "stopped", message: `row group ${task.group} was not completed` }
          yield* reachable(redis.send("SET", keys.stop, encodeStopRecord(stop), "NX"))
          yield* reportUsage
          return
        }
        const encoded = encodeNewGroup(outcome.publication, {
          size: Math.max(0, Math.min(run.bufferSize, run.rows - task.group * run.bufferSize)),
          bufferSize: run.bufferSize,
          format: run.format ?? "jsonl"
        })
        yield* reachable(commitGroup({ out: spec.out, keys, token: tokenOf(), encoded }))
        yield* reportUsage
      })

    // A group that failed here (a disk error, a bad answer the pipeline could not absorb) goes back to the queue
    // for another attempt; Redis failing stops the worker.
    const keepGoing = <E extends { readonly _tag: string; readonly message?: string }>(error: E) =>
      error._tag === "RedisUnavailableError" || error._tag === "PersistedQueueError"
        ? Effect.fail(error)
        : Effect.andThen(
          options.say(`a row group failed here and returns to the queue: ${error.message ?? error._tag}`),
          Effect.sleep(timings.pollMillis)
        )

    // The worker leaves when the run is no longer running or its coordinator is gone.
    const leave = yield* Deferred.make<void, RedisUnavailableError>()
    yield* Effect.gen(function*() {
      yield* heartbeat
      if (!(yield* reachable(isLive(spec.runId)))) yield* Deferred.succeed(leave, undefined)
    }).pipe(
      Effect.repeat(Schedule.spaced(timings.heartbeatMillis)),
      Effect.catch((error) => Deferred.fail(leave, error)),
      Effect.forkScoped
    )
    const takers = yield* Effect.forEach(
      Array.from({ length: run.maxConcurrentRowGroups }),
      () => Effect.forkScoped(Effect.forever(queue.take(handle).pipe(Effect.catch(keepGoing)))),
      { concurrency: "unbounded" }
    )
    const firstFailure = Effect.raceAll(takers.map((taker) => Fiber.join(taker)))
    yield* Effect.raceFirst(Deferred.await(leave), firstFailure)
    yield* Effect.forEach(takers, Fiber.interrupt, { discard: true })
    yield* reportUsage
    yield* reachable(redis.send("DEL", keys.worker(workerId)))
    yield* options.say(`worker ${workerId} leaves run ${spec.runId} (${attempts} group attempts)`)
    return spec.runId
  }).pipe(Effect.provide(servicesLayer))
})
