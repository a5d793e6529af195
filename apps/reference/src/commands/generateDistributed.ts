import { Console, Effect, FileSystem, Layer } from "effect"
import { progressLineEverySeconds, type ProgressMode } from "../progress/ProgressReporter.js"
import { Flag } from "effect/cli"
import { ConfigError } from "../config/ConfigError.js"
import type { LoadedConfig } from "../config/loadConfig.js"
import { runCoordinator } from "../distributed/coordinator.js"
import { DistributedRunError } from "../distributed/errors.js"
import { groupQueueLayer, redisLayer } from "../distributed/redisConnection.js"
import type { RunTimings } from "../distributed/RunSpec.js"
import type { RunSummary } from "../pipeline/summary.js"

/** `sluice generate`'s flags for a distributed run. */
export const distributedFlags = {
  redis: Flag.String("redis").pipe(
    Flag.withDescription(
      "Distribute the run through Redis (redis://HOST:PORT, rediss://…, unix:///path/redis.sock): row groups go " +
        "to worker processes; more can join with `sluice worker --redis URL`"
    ),
    Flag.optional
  ),
  workers: Flag.Int("workers").pipe(
    Flag.withDescription("With --redis: local worker processes to start (0: only workers that join)"),
    Flag.withDefault(1)
  ),
  leaseSeconds: Flag.Finite("lease-seconds").pipe(
    Flag.withDescription(
      "With --redis: a worker that stops renewing its claim on a row group for this long (killed, cut off) loses " +
        "it, and the group is delivered again"
    ),
    Flag.withDefault(30)
  ),
  stallSeconds: Flag.Finite("stall-seconds").pipe(
    Flag.withDescription("With --redis: stop (exit 4) when no row group was committed for this long"),
    Flag.withDefault(300)
  )
} as const

/** Claims, liveness keys and polls all follow the lease: renewed three times per lease, polled ten. */
export const timingsOf = (leaseSeconds: number): RunTimings => {
  const leaseMillis = Math.max(100, Math.round(leaseSeconds * 1000))
  return {
    leaseMillis,
    heartbeatMillis: Math.max(30, Math.round(leaseMillis / 3)),
    pollMillis: Math.max(20, Math.min(1000, Math.round(leaseMillis / 10))),
    maxDeliveries: 10
  }
}

const usage = (problem: string) => new DistributedRunError({ problem, exitCode: 2 })

/** `sluice generate … --redis URL`: the coordinator of a distributed run, with its local workers. */
export const generateDistributed = Effect.fnUntraced(function*<BeforeRunError>(
  loaded: LoadedConfig,
  options: {
    readonly redis: string
    readonly workers: number
    readonly leaseSeconds: number
    readonly stallSeconds: number
    readonly out: string
    readonly rows: number | undefined
    readonly resume: boolean
    readonly overwrite: boolean
    readonly retryDropped: boolean
    /** `bar` shows plain lines too: workers log to the same stderr, which a live bar would overwrite. */
    readonly progress: ProgressMode
    readonly check: Effect.Effect<void, BeforeRunError> | undefined
    readonly onInterrupted: (summary: RunSummary) => Effect.Effect<void>
  }
) {
  if (options.workers < 0) return yield* usage("--workers must be 0 or more")
  if (!(options.leaseSeconds > 0)) return yield* usage("--lease-seconds must be above 0")
  if (!(options.stallSeconds > 0)) return yield* usage("--stall-seconds must be above 0")
  if (options.retryDropped) {
    return yield* usage(
      "--retry-dropped is not supported with --redis yet; run it without --redis (the dataset is the same)"
    )
  }
  const fs = yield* FileSystem.FileSystem
  const configText = yield* fs.readFileString(loaded.file).pipe(
    Effect.mapError((error) =>
      new ConfigError({ file: loaded.file, issues: [{ path: "", problem: `cannot read it: ${error.message}` }] })
    )
  )
  const timings = timingsOf(options.leaseSeconds)
  return yield* runCoordinator(loaded, {
    configText,
    rows: options.rows,
    out: options.out,
    mode: options.resume ? "resume" : options.overwrite ? "overwrite" : "fresh",
    redis: options.redis,
    workers: options.workers,
    timings,
    stallMillis: options.stallSeconds * 1000,
    check: options.check,
    say: (line) => Console.error(`sluice: ${line}`),
    progressEveryMillis: options.progress === "off" ? undefined : progressLineEverySeconds * 1000,
    onInterrupted: options.onInterrupted
  }).pipe(
    Effect.scoped,
    Effect.provide(groupQueueLayer(timings).pipe(Layer.provideMerge(redisLayer(options.redis))))
  )
})
