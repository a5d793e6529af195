import { type ChildProcess, spawn } from "node:child_process"
import { readFileSync } from "node:fs"
import { request as httpRequest } from "node:http"
import { createRequire } from "node:module"
import { dirname, join } from "node:path"
import { Data, Effect, Random, Schema, type Scope } from "effect"
import {
  decodeMockOptions,
  type MockOptions,
  type MockOptionsInput,
  MockStats,
  startMockProvider
} from "@sluice/mock-provider"
import { benchCpus } from "./BenchCpus.js"

/** Where the benchmark's mock provider runs: in the harness's own process, or in a child `sluice-mock-provider`. */
export type MockPlacement = "in-process" | "child-process"

export class BenchError
  extends Data.TaggedError("BenchError")<{ readonly message: string; readonly cause?: unknown }>
{}

/** A running mock endpoint, whichever process it lives in. */
export interface MockEndpoint {
  /** OpenAI-compatible base URL (`http://127.0.0.1:PORT/v1`). */
  readonly url: string
  readonly options: MockOptions
  readonly placement: MockPlacement
  readonly stats: Effect.Effect<MockStats, BenchError>
}

/** The `sluice-mock-provider` bin of the installed `@sluice/mock-provider` (its built `dist/bin.js`). */
export const mockProviderBin = (): string => {
  const manifest = createRequire(import.meta.url).resolve("@sluice/mock-provider/package.json")
  const { bin } = JSON.parse(readFileSync(manifest, "utf8")) as { readonly bin: Readonly<Record<string, string>> }
  return join(dirname(manifest), bin["sluice-mock-provider"]!)
}

const decodeStats = Schema.decodeUnknownEffect(MockStats)

const fetchStats = (url: string): Effect.Effect<MockStats, BenchError> =>
  Effect.tryPromise({
    try: (signal) => fetch(url.replace(/\/v1$/, "/stats"), { signal }).then((r) => r.json()),
    catch: (cause) => new BenchError({ message: `cannot read the mock's /stats at ${url}`, cause })
  }).pipe(Effect.flatMap((json) =>
    Effect.mapError(decodeStats(json), (cause) => new BenchError({ message: "bad /stats", cause }))
  ))

const mockArgs = (o: MockOptions): Array<string> => [
  "--port",
  "0",
  "--capacity",
  String(o.capacity),
  "--latency-min",
  String(o.latencyMs.min),
  "--latency-max",
  String(o.latencyMs.max),
  "--retry-after",
  String(o.retryAfterSeconds),
  "--server-error-rate",
  String(o.serverErrorRate),
  "--timeout-rate",
  String(o.timeoutRate),
  "--seed",
  String(o.seed),
  ...(o.rpm === null ? [] : ["--rpm", String(Math.round(o.rpm))])
]

/**
 * Spawns `node …/sluice-mock-provider --port 0 …` (under `taskset -c CPUS` when the bench pinned itself, see
 * `BenchCpus`) and waits for the line that names its URL; killed on close.
 */
const startChild = (options: MockOptions, cpus: string | undefined): Effect.Effect<string, BenchError, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.callback<{ child: ChildProcess; url: string }, BenchError>((resume) => {
      const node = [process.execPath, mockProviderBin(), ...mockArgs(options)]
      // taskset execs node in place, so the child's pid (and its kill) is node's own.
      const [command, ...args] = cpus === undefined ? node : ["taskset", "-c", cpus, ...node]
      const child = spawn(command!, args, { stdio: ["ignore", "pipe", "pipe"] })
      let buffered = ""
      let stderr = ""
      child.stdout!.setEncoding("utf8").on("data", (chunk: string) => {
        buffered += chunk
        const match = /listening on (http:\/\/\S+)/.exec(buffered)
        if (match !== null) resume(Effect.succeed({ child, url: match[1]! }))
      })
      child.stderr!.setEncoding("utf8").on("data", (chunk: string) => void (stderr += chunk))
      child.on(
        "exit",
        (code) =>
          resume(
            Effect.fail(
              new BenchError({ message: `the mock provider child exited (${code}) before listening: ${stderr.trim()}` })
            )
          )
      )
      child.on(
        "error",
        (cause) => resume(Effect.fail(new BenchError({ message: "cannot start the mock provider child", cause })))
      )
      return Effect.sync(() => void child.kill("SIGKILL"))
    }),
    ({ child }) =>
      Effect.callback<void>((resume) => {
        if (child.exitCode !== null || child.signalCode !== null) return resume(Effect.void)
        child.once("exit", () => resume(Effect.void))
        child.kill("SIGTERM")
      })
  ).pipe(Effect.map(({ url }) => url))

/** One request on a connection of its own, closed after it (no pooled socket is left for a client to reuse). */
const oneShot = (url: string, body: string): Effect.Effect<number, BenchError> =>
  Effect.callback<number, BenchError>((resume) => {
    const failed = (cause: unknown) =>
      resume(Effect.fail(new BenchError({ message: `mock warm-up: POST ${url} failed`, cause })))
    const request = httpRequest(url, {
      method: "POST",
      agent: false,
      headers: { "content-type": "application/json", "content-length": Buffer.byteLength(body) }
    }, (response) => {
      response.on("error", failed).on("end", () => resume(Effect.succeed(response.statusCode ?? 0))).resume()
    })
    request.on("error", failed)
    request.end(body)
    return Effect.sync(() => void request.destroy())
  })

/**
 * A provider in production has been serving for a while; a mock started a moment ago still runs its request
 * path unoptimized: its first refusals came back 7–24 ms after the request instead of ≈ 1.5 ms, and that
 * decides how a client's first wave fares. So before the clock starts, an endpoint serves two waves of
 * 2 × capacity malformed chat requests (answered 400 or 429: accept, parse, admission and both refusal paths;
 * a malformed body takes no latency draw), then its counters are reset. An `rpm` endpoint then rests a second,
 * so its token bucket is full again.
 */
const warmUpMock = (url: string, options: MockOptions): Effect.Effect<void, BenchError> =>
  Effect.gen(function*() {
    const wave = Effect.forEach(
      Array.from({ length: 2 * options.capacity }),
      () => oneShot(`${url}/chat/completions`, "{}"),
      { concurrency: "unbounded", discard: true }
    )
    yield* wave
    yield* wave
    const reset = yield* oneShot(url.replace(/\/v1$/, "/stats/reset"), "")
    if (reset !== 200) return yield* new BenchError({ message: `mock warm-up: /stats/reset answered ${reset}` })
    if (options.rpm !== null) yield* Effect.sleep("1 second")
  })

/** Starts a mock endpoint where `placement` says and warms it (see `warmUpMock`): ready to measure against. */
export const startMockEndpoint = Effect.fnUntraced(function*(
  input: MockOptionsInput,
  placement: MockPlacement
): Effect.fn.Return<MockEndpoint, BenchError, Scope.Scope> {
  const options = yield* decodeMockOptions({ ...input, port: 0 }).pipe(
    Effect.mapError((cause) => new BenchError({ message: cause.message, cause }))
  )
  if (placement === "in-process") {
    const mock = yield* startMockProvider(options).pipe(
      Effect.mapError((cause) => new BenchError({ message: cause.message, cause }))
    )
    yield* warmUpMock(mock.url, options)
    return { url: mock.url, options, placement, stats: mock.stats }
  }
  const cpus = yield* benchCpus
  // Pinned before the child starts, restored after it is gone (finalizers run in reverse).
  if (cpus !== undefined) yield* cpus.hold
  const url = yield* startChild(options, cpus?.split?.mock)
  yield* warmUpMock(url, options)
  return { url, options, placement, stats: fetchStats(url) }
})

/** Provider busy time actually drawn, recovered by replaying the mock's seeded draws. */
export interface DrawnLatency {
  /** Requests that took a latency draw (admitted with a valid body). */
  readonly admitted: number
  readonly busySeconds: number
  readonly meanSeconds: number
  readonly maxSeconds: number
}

/**
 * The mock takes exactly three draws (timeout, server error, latency) from one `Random.withSeed(seed)` stream
 * per admitted request, in arrival order. Replaying the same stream `admitted` times gives the exact latencies
 * it slept, so the ideal is computed from what was drawn, not from the distribution's mean.
 */
export const replayDrawnLatency = (options: MockOptions, admitted: number): Effect.Effect<DrawnLatency> =>
  Effect.gen(function*() {
    const draws = yield* Random.Random.pipe(Random.withSeed(options.seed))
    const { min, max } = options.latencyMs
    let busyMs = 0
    let maxMs = 0
    for (let i = 0; i < admitted; i++) {
      const timeoutDraw = draws.nextDoubleUnsafe()
      draws.nextDoubleUnsafe()
      const latency = min + (max - min) * draws.nextDoubleUnsafe()
      if (timeoutDraw < options.timeoutRate) continue
      busyMs += latency
      if (latency > maxMs) maxMs = latency
    }
    return {
      admitted,
      busySeconds: busyMs / 1000,
      meanSeconds: admitted > 0 ? busyMs / 1000 / admitted : 0,
      maxSeconds: maxMs / 1000
    }
  })

/** Requests that drew a latency: served + server errors + never-answered. */
export const admittedOf = (stats: MockStats): number => stats.served + stats.serverErrors + stats.timeouts

/**
 * The mock's view of how fast a client refills freed slots (see `SlotHandOver`): the median and mean hand-over
 * gap, and the slot-milliseconds lost filling the first wave. What a comparison of clients on the same work
 * differs by, apart from the tail.
 */
export const slotHandOverExtra = (stats: MockStats) => ({
  handOverP50Micros: stats.slotHandOver.p50Micros,
  handOverMeanMicros: stats.slotHandOver.meanMicros,
  startupSlotMs: stats.slotHandOver.startupSlotMs
})
