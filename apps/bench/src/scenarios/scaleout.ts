import { NodeRedis } from "@effect/platform-node"
import { type AimdParams, makeLeaseStore, makeSharedAdmission } from "@sluice/request-admission-redis"
import { requestResourceKey } from "@sluice/scheduling-resources"
import { Clock, Context, Deferred, Effect, Layer, type Scope } from "effect"
import * as Redis from "effect/persistence/Redis"
import { type ChildProcess, spawn } from "node:child_process"
import { loadavg } from "node:os"
import { fileURLToPath } from "node:url"
import { cpuSplitLabel } from "../BenchCpus.js"
import { round3 } from "../BenchResult.js"
import { markdownTable } from "../markdown.js"
import { BenchError, type MockPlacement, startMockEndpoint } from "../mockHost.js"
import { type RedisHost, startRedisHost } from "../redisHost.js"
import type { Scenario, ScenarioContext } from "../Scenario.js"
import type { ScaleoutWorkerArgs, ScaleoutWorkerResult } from "../scaleoutWorker.js"

/** The provider's hard cap (requests in service at once; one more is answered 429) and its latency. */
const CAP = 32
/** The shared limit's rules where the scenario calls the lease store itself: the in-process defaults, at the cap. */
const staticAimd: AimdParams = {
  max: CAP,
  initial: CAP,
  decreaseFactor: 0.75,
  additiveIncreaseStep: 1,
  successesUntilIncrease: 25,
  cooldownMs: 2000,
  decreaseToInFlight: true,
  ceilingProbeBackoff: true
}
const LATENCY_MS = 300
/** Concurrent call loops per worker in the scaling runs: 4 workers reach the cap, 8 are limited by it. */
const LOOPS = 8
const WORKER_COUNTS = [1, 2, 4, 8] as const
/** Each worker calls for this long before its measured window opens (JIT, connections, the script cache). */
const WARMUP_MS = 2000
const resource = requestResourceKey("mock", "m", "chat")

export interface ScaleoutRun {
  readonly workers: number
  readonly requestsPerSecond: number
  readonly perWorkerRequestsPerSecond: ReadonlyArray<number>
  readonly peakInFlight: number
  readonly rejected429: number
  readonly leakedLeases: number
  readonly jain: number
  /** Calls that failed in the workers (admission errors, transport errors): 0 expected. */
  readonly failedCalls: number
  /** Share of one CPU the workers used together while calling (their CPU time ÷ wall time). */
  readonly workersCpu: number
}

export interface ScaleoutReport {
  readonly scenario: "scaleout"
  readonly cap: number
  readonly latencyMs: number
  readonly runs: ReadonlyArray<ScaleoutRun>
  readonly aimd: {
    readonly startLimit: number
    readonly finalLimit: number
    readonly share429: number
    readonly requestsPerSecond: number
    readonly peakInFlight: number
  }
  readonly crash: {
    readonly leasesHeldWhenKilled: number
    readonly leasesLeftAfterTtl: number
    readonly survivorsRequestsPerSecond: number
    readonly survivorsBeforeTtlRequestsPerSecond: number
  }
  /** One acquire + release of a shared lease, no contention, through the whole worker path (pump, scripts). */
  readonly leaseOverheadMs: {
    readonly unixSocket: { readonly p50: number; readonly p99: number; readonly samples: number }
    readonly loopbackTcp: { readonly p50: number; readonly p99: number; readonly samples: number }
  }
  readonly bars: Readonly<Record<string, boolean>>
  readonly cpus: string
  /** The machine's 1-minute load average at the start and the end: every process here competes for its CPUs. */
  readonly loadAverage: { readonly start: number; readonly end: number }
}

const workerPath = fileURLToPath(new URL("./scaleoutWorker.js", import.meta.url))

interface WorkerHandle {
  readonly id: string
  readonly child: ChildProcess
  readonly ready: Deferred.Deferred<void, BenchError>
  readonly result: Deferred.Deferred<ScaleoutWorkerResult, BenchError>
}

/** Spawns one worker; it is killed when the scope closes if it is still running. */
const spawnWorker = (args: ScaleoutWorkerArgs): Effect.Effect<WorkerHandle, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.sync(() => {
      const child = spawn(process.execPath, [workerPath, JSON.stringify(args)], { stdio: ["pipe", "pipe", "pipe"] })
      const ready = Deferred.makeUnsafe<void, BenchError>()
      const result = Deferred.makeUnsafe<ScaleoutWorkerResult, BenchError>()
      let buffered = ""
      let stderr = ""
      child.stdout!.setEncoding("utf8").on("data", (chunk: string) => {
        buffered += chunk
        let newline = buffered.indexOf("\n")
        while (newline >= 0) {
          const line = buffered.slice(0, newline).trim()
          buffered = buffered.slice(newline + 1)
          if (line === "ready") Deferred.doneUnsafe(ready, Effect.void)
          else if (line.startsWith("{")) Deferred.doneUnsafe(result, Effect.succeed(JSON.parse(line)))
          newline = buffered.indexOf("\n")
        }
      })
      child.stderr!.setEncoding("utf8").on("data", (chunk: string) => void (stderr += chunk))
      child.on("exit", (code, signal) => {
        const error = new BenchError({
          message: `scaleout worker ${args.workerId} exited (${code ?? signal}): ${stderr}`
        })
        Deferred.doneUnsafe(ready, Effect.fail(error))
        Deferred.doneUnsafe(result, Effect.fail(error))
      })
      return { id: args.workerId, child, ready, result }
    }),
    ({ child }) =>
      Effect.callback<void>((resume) => {
        if (child.exitCode !== null || child.signalCode !== null) return resume(Effect.void)
        child.once("exit", () => resume(Effect.void))
        child.kill("SIGKILL")
      })
  )

const jainIndex = (xs: ReadonlyArray<number>): number => {
  const sum = xs.reduce((a, b) => a + b, 0)
  const squares = xs.reduce((a, b) => a + b * b, 0)
  return squares === 0 ? 1 : (sum * sum) / (xs.length * squares)
}

const percentile = (sorted: ReadonlyArray<number>, p: number): number =>
  sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? 0

interface Fleet {
  readonly workers: ReadonlyArray<WorkerHandle>
  /** Local clock ms when `go` was sent. */
  readonly wentAt: number
}

/** Starts `count` workers, waits until all are connected, and sends `go` to all at once. */
const startFleet = Effect.fnUntraced(function*(
  count: number,
  args: (index: number) => ScaleoutWorkerArgs
) {
  const workers = yield* Effect.forEach(Array.from({ length: count }, (_, i) => i), (i) => spawnWorker(args(i)))
  yield* Effect.forEach(workers, (w) => Deferred.await(w.ready), { discard: true })
  const wentAt = yield* Clock.currentTimeMillis
  for (const w of workers) w.child.stdin!.write("go\n")
  return { workers, wentAt } satisfies Fleet
})

const baseArgs = (redis: RedisHost, mockUrl: string, keyPrefix: string, durationMs: number) => ({
  socket: redis.socket,
  mockUrl,
  keyPrefix,
  warmupMs: WARMUP_MS,
  durationMs,
  cap: CAP,
  initial: CAP,
  loops: LOOPS,
  leaseTtlSeconds: 30,
  heartbeatSeconds: 10,
  bucketMs: 100
})

const mockOptions = (seed: number) => ({
  capacity: CAP,
  latencyMs: { min: LATENCY_MS, max: LATENCY_MS },
  retryAfterSeconds: 1,
  seed
})

/** Shared leases still in the table (none may be left once every worker has stopped). */
const leasesIn = (redis: Redis.Redis["Service"], keyPrefix: string) =>
  Effect.orDie(redis.send<number>("ZCARD", `${keyPrefix}mock/m/chat:leases`))

const scalingRun = Effect.fnUntraced(function*(
  redisHost: RedisHost,
  redis: Redis.Redis["Service"],
  placement: MockPlacement,
  workers: number,
  durationMs: number
) {
  return yield* Effect.scoped(Effect.gen(function*() {
    const mock = yield* startMockEndpoint(mockOptions(100 + workers), placement)
    const keyPrefix = `scaleout:n${workers}:`
    const fleet = yield* startFleet(workers, (i) => ({
      ...baseArgs(redisHost, mock.url, keyPrefix, durationMs),
      workerId: `w${i}`
    }))
    const results = yield* Effect.forEach(fleet.workers, (w) => Deferred.await(w.result))
    const stats = yield* mock.stats
    const perWorker = results.map((r) => round3(r.served / (durationMs / 1000)))
    return {
      workers,
      requestsPerSecond: round3(perWorker.reduce((a, b) => a + b, 0)),
      perWorkerRequestsPerSecond: perWorker,
      peakInFlight: stats.maxConcurrent,
      rejected429: stats.rejected429,
      leakedLeases: yield* leasesIn(redis, keyPrefix),
      jain: round3(jainIndex(perWorker)),
      failedCalls: results.reduce((a, r) => a + r.otherErrors, 0),
      workersCpu: round3(results.reduce((a, r) => a + r.cpuMs / Math.max(1, r.wallMs), 0))
    } satisfies ScaleoutRun
  }))
})

/** The shared limit starts above the provider's cap (48 declared, 32 real): AIMD must find the cap. */
const aimdRun = Effect.fnUntraced(function*(
  redisHost: RedisHost,
  redis: Redis.Redis["Service"],
  placement: MockPlacement,
  durationMs: number
) {
  const startLimit = 48
  return yield* Effect.scoped(Effect.gen(function*() {
    const mock = yield* startMockEndpoint(mockOptions(7), placement)
    const keyPrefix = "scaleout:aimd:"
    const fleet = yield* startFleet(4, (i) => ({
      ...baseArgs(redisHost, mock.url, keyPrefix, durationMs),
      cap: startLimit,
      initial: startLimit,
      loops: 16,
      workerId: `a${i}`
    }))
    const results = yield* Effect.forEach(fleet.workers, (w) => Deferred.await(w.result))
    const stats = yield* mock.stats
    const finalLimit = Number(yield* Effect.orDie(redis.send<string>("HGET", `${keyPrefix}mock/m/chat:state`, "limit")))
    const served = results.reduce((a, r) => a + r.served, 0)
    const rejected = results.reduce((a, r) => a + r.rejected429, 0)
    return {
      startLimit,
      finalLimit,
      share429: round3(rejected / Math.max(1, served + rejected)),
      requestsPerSecond: round3(served / (durationMs / 1000)),
      peakInFlight: stats.maxConcurrent
    }
  }))
})

/**
 * Four workers with 16 loops each (twice the cap in demand); one is killed (SIGKILL) while it holds leases. Its
 * leases expire after the TTL and are reaped; the survivors then take up the whole cap.
 */
const crashRun = Effect.fnUntraced(function*(
  redisHost: RedisHost,
  redis: Redis.Redis["Service"],
  placement: MockPlacement,
  killAfterMs: number,
  afterTtlMs: number
) {
  const ttlSeconds = 2
  const durationMs = killAfterMs + ttlSeconds * 1000 + afterTtlMs
  return yield* Effect.scoped(Effect.gen(function*() {
    const mock = yield* startMockEndpoint(mockOptions(9), placement)
    const keyPrefix = "scaleout:crash:"
    const fleet = yield* startFleet(4, (i) => ({
      ...baseArgs(redisHost, mock.url, keyPrefix, durationMs),
      loops: 16,
      leaseTtlSeconds: ttlSeconds,
      heartbeatSeconds: 0.5,
      workerId: `c${i}`
    }))
    yield* Effect.sleep(WARMUP_MS + killAfterMs)
    const victim = fleet.workers[0]!
    const members = yield* Effect.orDie(
      redis.send<Array<string>>("ZRANGE", `${keyPrefix}mock/m/chat:leases`, "0", "-1")
    )
    const held = members.filter((m) => m.startsWith(`${victim.id}|`)).length
    const killedAt = yield* Clock.currentTimeMillis
    victim.child.kill("SIGKILL")
    const survivors = yield* Effect.forEach(fleet.workers.slice(1), (w) => Deferred.await(w.result))
    // Every survivor stopped and released its own; what is left is the victim's, until the TTL reaps it.
    const now = yield* Clock.currentTimeMillis
    const ttlEnds = killedAt + ttlSeconds * 1000
    if (now < ttlEnds + 100) yield* Effect.sleep(ttlEnds + 100 - now)
    // One acquire of nothing runs the reaper, as any worker's next acquire would.
    const store = makeLeaseStore(redis, { keyPrefix, commandTimeoutMs: 5000 })
    yield* Effect.orDie(store.acquire(resource, "bench", 0, 1000, staticAimd, 1000))
    const left = yield* leasesIn(redis, keyPrefix)
    // Survivors' answers per 100 ms bucket: before the TTL ran out (the victim's slots still held) and after.
    const bucketMs = 100
    const killBucket = Math.floor((killedAt - fleet.wentAt - WARMUP_MS) / bucketMs)
    const ttlBucket = killBucket + Math.ceil((ttlSeconds * 1000) / bucketMs) + 3
    const lastBucket = Math.floor(durationMs / bucketMs)
    const sumBuckets = (from: number, to: number) =>
      survivors.reduce((a, r) => a + r.servedPerBucket.slice(from, to).reduce((x, y) => x + y, 0), 0)
    const rate = (from: number, to: number) =>
      to > from ? round3(sumBuckets(from, to) / ((to - from) * bucketMs / 1000)) : 0
    return {
      leasesHeldWhenKilled: held,
      leasesLeftAfterTtl: left,
      survivorsRequestsPerSecond: rate(ttlBucket, lastBucket),
      survivorsBeforeTtlRequestsPerSecond: rate(killBucket + 3, killBucket + Math.floor((ttlSeconds * 1000) / bucketMs))
    }
  }))
})

/** Sequential acquire + release pairs of one worker over a connection to `options`: p50 and p99 in ms. */
const leaseOverhead = (options: Parameters<typeof NodeRedis.layer>[0], samples: number) =>
  Effect.scoped(Effect.gen(function*() {
    const scope = yield* Effect.scope
    const context = yield* Layer.buildWithScope(NodeRedis.layer(options), scope).pipe(
      Effect.mapError((cause) => new BenchError({ message: "cannot connect to the bench's redis-server", cause }))
    )
    const shared = yield* makeSharedAdmission({ keyPrefix: `scaleout:overhead:${samples}:`, workerId: "o" }).pipe(
      Effect.provideContext(context),
      Effect.orDie
    )
    const timings: Array<number> = []
    for (let i = 0; i < samples + 200; i++) {
      const started = process.hrtime.bigint()
      const lease = yield* Effect.orDie(shared.acquire(resource, staticAimd))
      yield* shared.release(lease, { kind: "success" })
      // The first 200 warm up the connection, the script cache and the JIT.
      if (i >= 200) timings.push(Number(process.hrtime.bigint() - started) / 1e6)
    }
    timings.sort((a, b) => a - b)
    return { p50: round3(percentile(timings, 0.5)), p99: round3(percentile(timings, 0.99)), samples }
  }))

export const runScaleout = Effect.fnUntraced(function*(ctx: ScenarioContext) {
  const durationMs = ctx.tiny ? 1500 : ctx.full ? 10_000 : 4000
  const loadAtStart = loadavg()[0]!
  const redisHost = yield* startRedisHost
  const scope = yield* Effect.scope
  const context = yield* Layer.buildWithScope(
    NodeRedis.layer({ socket: { path: redisHost.socket, tls: false } }),
    scope
  ).pipe(Effect.mapError((cause) => new BenchError({ message: "cannot connect to the bench's redis-server", cause })))
  const redis = Context.get(context, Redis.Redis)

  const runs: Array<ScaleoutRun> = []
  for (const n of WORKER_COUNTS) {
    yield* Effect.logInfo(`scaleout: ${n} worker(s)`)
    runs.push(yield* scalingRun(redisHost, redis, ctx.placement, n, durationMs))
  }
  yield* Effect.logInfo("scaleout: AIMD from above the cap")
  const aimd = yield* aimdRun(redisHost, redis, ctx.placement, ctx.tiny ? 2000 : ctx.full ? 15_000 : 6000)
  yield* Effect.logInfo("scaleout: a worker killed holding leases")
  const crash = yield* crashRun(redisHost, redis, ctx.placement, 1000, ctx.tiny ? 1000 : 2500)
  yield* Effect.logInfo("scaleout: per-lease overhead")
  const samples = ctx.tiny ? 200 : 3000
  const leaseOverheadMs = {
    unixSocket: yield* leaseOverhead({ socket: { path: redisHost.socket, tls: false } }, samples),
    loopbackTcp: yield* leaseOverhead({ socket: { host: "127.0.0.1", port: redisHost.port, tls: false } }, samples)
  }

  const single = runs[0]!.requestsPerSecond
  const capRate = CAP / (LATENCY_MS / 1000)
  const bars: Record<string, boolean> = {
    "peakInFlight <= cap (every N)": runs.every((r) => r.peakInFlight <= CAP),
    "rejected429 = 0 (every N, static limit)": runs.every((r) => r.rejected429 === 0),
    "leakedLeases = 0 (every N)": runs.every((r) => r.leakedLeases === 0),
    "rps(N) >= 0.9 x min(N x rps(1), C/L)": runs.every((r) =>
      r.requestsPerSecond >= 0.9 * Math.min(r.workers * single, capRate)
    ),
    "jain >= 0.95 (every N)": runs.every((r) => r.jain >= 0.95),
    "aimd share429 < 0.05": aimd.share429 < 0.05,
    "aimd finalLimit <= cap": aimd.finalLimit <= CAP,
    "crash leasesLeftAfterTtl = 0": crash.leasesLeftAfterTtl === 0,
    "crash survivors take up the share (>= 0.9 x C/L)": crash.survivorsRequestsPerSecond >= 0.9 * capRate
  }
  const report: ScaleoutReport = {
    scenario: "scaleout",
    cap: CAP,
    latencyMs: LATENCY_MS,
    runs,
    aimd,
    crash,
    leaseOverheadMs,
    bars,
    cpus: yield* cpuSplitLabel,
    loadAverage: { start: round3(loadAtStart), end: round3(loadavg()[0]!) }
  }
  return report
})

const scaleoutTable = (report: ScaleoutReport): string =>
  [
    markdownTable(
      [
        "workers",
        "rps",
        "per worker",
        "peak in flight",
        "429",
        "leaked leases",
        "Jain",
        "failed calls",
        "workers' CPU"
      ],
      report.runs.map((r) => [
        r.workers,
        r.requestsPerSecond,
        r.perWorkerRequestsPerSecond.join(", "),
        r.peakInFlight,
        r.rejected429,
        r.leakedLeases,
        r.jain,
        r.failedCalls,
        r.workersCpu
      ])
    ),
    "",
    markdownTable(
      [
        "aimd start",
        "final limit",
        "429 share",
        "rps",
        "crash: held when killed",
        "left after TTL",
        "survivors rps (during TTL → after)"
      ],
      [[
        report.aimd.startLimit,
        report.aimd.finalLimit,
        report.aimd.share429,
        report.aimd.requestsPerSecond,
        report.crash.leasesHeldWhenKilled,
        report.crash.leasesLeftAfterTtl,
        `${report.crash.survivorsBeforeTtlRequestsPerSecond} → ${report.crash.survivorsRequestsPerSecond}`
      ]]
    ),
    "",
    `Per-lease overhead (acquire + release, ms): unix socket p50 ${report.leaseOverheadMs.unixSocket.p50}, p99 ${report.leaseOverheadMs.unixSocket.p99}; ` +
    `loopback TCP p50 ${report.leaseOverheadMs.loopbackTcp.p50}, p99 ${report.leaseOverheadMs.loopbackTcp.p99}.`,
    "",
    ...Object.entries(report.bars).map(([bar, holds]) => `- ${holds ? "holds" : "FAILS"}: ${bar}`),
    "",
    `CPUs: ${report.cpus}; load average ${report.loadAverage.start} → ${report.loadAverage.end}.`
  ].join("\n")

export const scaleout: Scenario = {
  name: "scaleout",
  // Needs `redis-server`, and takes ≈ 4.5 min: run by name only.
  inAll: false,
  describe:
    `workers in separate processes share one provider (cap ${CAP}, ${LATENCY_MS} ms) through Redis: N = 1, 2, 4, 8; AIMD from above the cap; a worker killed holding leases`,
  run: (ctx: ScenarioContext) =>
    Effect.scoped(Effect.map(runScaleout(ctx), (result) => ({ result, table: scaleoutTable(result), timeline: [] })))
}
