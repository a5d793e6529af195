import { Clock, Effect, Fiber, FileSystem, Schedule } from "effect"
import type { MockOptionsInput, MockStats } from "@sluice/mock-provider"
import { providerLoads, resolveConfig, runPipeline, type RunSummary } from "@sluice/reference/pipeline"
import type { RateLimitedMark, TimelinePoint } from "./BenchResult.js"
import {
  admittedOf,
  BenchError,
  type DrawnLatency,
  type MockEndpoint,
  type MockPlacement,
  replayDrawnLatency,
  startMockEndpoint
} from "./mockHost.js"

/** One mock provider of a benchmark config and the models on it. */
export interface BenchProvider {
  readonly name: string
  readonly mock: MockOptionsInput
  readonly models: ReadonlyArray<
    { readonly alias: string; readonly model: string; readonly maxParallelRequests: number }
  >
}

export interface PipelineBenchSpec {
  readonly providers: ReadonlyArray<BenchProvider>
  readonly columns: ReadonlyArray<Record<string, unknown>>
  readonly run: Record<string, unknown>
}

export interface ProviderOutcome {
  readonly name: string
  readonly stats: MockStats
  readonly drawn: DrawnLatency
  readonly endpoint: MockEndpoint
}

export interface PipelineBenchRun {
  readonly summary: RunSummary
  readonly timeline: ReadonlyArray<TimelinePoint>
  readonly providers: ReadonlyArray<ProviderOutcome>
  /** Seconds each provider had at least one request in flight (sampled), for busy shares. */
  readonly activeSeconds: Readonly<Record<string, number>>
  /** The 429s each mock answered, per poll of its `/stats` (empty unless `rateLimitPollMs` was set). */
  readonly rateLimited: ReadonlyArray<RateLimitedMark>
}

/** Marks where a provider's cumulative 429 count grew from one poll to the next, on the timeline's clock. */
export const rateLimitedMarks = (
  polls: ReadonlyArray<{ readonly atMillis: number; readonly provider: string; readonly rejected429: number }>,
  startMillis: number
): ReadonlyArray<RateLimitedMark> => {
  const seen = new Map<string, number>()
  const marks: Array<RateLimitedMark> = []
  for (const p of polls) {
    const count = p.rejected429 - (seen.get(p.provider) ?? 0)
    seen.set(p.provider, p.rejected429)
    if (count > 0) {
      marks.push({ atSeconds: Math.max(0, (p.atMillis - startMillis) / 1000), provider: p.provider, count })
    }
  }
  return marks
}

/** The config object for `resolveConfig`: every provider `openai-compatible`, pointed at an endpoint we started. */
export const benchConfig = (spec: PipelineBenchSpec, urls: ReadonlyMap<string, string>): Record<string, unknown> => ({
  providers: spec.providers.map((p) => ({
    name: p.name,
    type: "openai-compatible",
    baseUrl: urls.get(p.name) ?? "http://127.0.0.1:1/v1"
  })),
  models: spec.providers.flatMap((p) => p.models.map((m) => ({ ...m, provider: p.name }))),
  columns: spec.columns,
  run: spec.run
})

/**
 * Starts the spec's mock providers (in this process or as child processes), runs `sluice generate`'s pipeline
 * against them through the `openai-compatible` client, samples its pressure every `sampleEveryMs`, and reads back
 * the mocks' own counts and drawn latencies.
 */
export interface PipelineBenchOptions {
  /** How often the pipeline's progress and request pressure are sampled for the timeline (default 50 ms). */
  readonly sampleEveryMs?: number
  /**
   * Polls every mock's `/stats` this often while the pipeline runs, to mark its 429s on the timeline. Off by
   * default: a poll is a request to the mock, so scenarios compared closely (pressure-725, peers) do not poll.
   */
  readonly rateLimitPollMs?: number
}

export const runPipelineBench = Effect.fnUntraced(function*(
  spec: PipelineBenchSpec,
  placement: MockPlacement,
  options: PipelineBenchOptions = {}
) {
  const sampleEveryMs = options.sampleEveryMs ?? 50
  return yield* Effect.scoped(Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const endpoints = new Map<string, MockEndpoint>()
    for (const provider of spec.providers) {
      endpoints.set(provider.name, yield* startMockEndpoint(provider.mock, placement))
    }
    const urls = new Map([...endpoints].map(([name, e]) => [name, e.url] as const))
    const loaded = yield* resolveConfig("<bench>", benchConfig(spec, urls)).pipe(
      Effect.mapError((cause) => new BenchError({ message: `bench config: ${cause.message}`, cause }))
    )
    const out = yield* fs.makeTempDirectoryScoped({ prefix: "sluice-bench-" }).pipe(
      Effect.mapError((cause) => new BenchError({ message: "cannot make a temp directory", cause }))
    )
    const timeline: Array<TimelinePoint> = []
    const activeSeconds: Record<string, number> = {}
    let startMillis: number | undefined
    let lastMillis: number | undefined
    const polls: Array<{ readonly atMillis: number; readonly provider: string; readonly rejected429: number }> = []
    const poll = Effect.forEach(
      [...endpoints],
      ([provider, endpoint]) =>
        Effect.flatMap(endpoint.stats, (stats) =>
          Effect.map(Clock.currentTimeMillis, (atMillis) => {
            polls.push({ atMillis, provider, rejected429: stats.rejected429 })
          })),
      { discard: true }
    )
    const poller = options.rateLimitPollMs === undefined ? undefined : yield* poll.pipe(
      Effect.repeat(Schedule.spaced(options.rateLimitPollMs)),
      Effect.forkChild({ startImmediately: true })
    )
    const { summary } = yield* runPipeline(loaded, {
      out,
      resume: false,
      progress: "off",
      sampleEveryMs,
      onSample: ({ atMillis, pressures, progress }) => {
        startMillis ??= atMillis
        const dt = lastMillis === undefined ? 0 : (atMillis - lastMillis) / 1000
        lastMillis = atMillis
        const providers: Record<string, { inFlight: number; limit: number }> = {}
        for (const load of providerLoads(pressures)) {
          providers[load.provider] = { inFlight: load.inFlight, limit: load.coolingDown ? 0 : load.limit }
          if (load.inFlight > 0) activeSeconds[load.provider] = (activeSeconds[load.provider] ?? 0) + dt
        }
        // Whole rows, as written: the rows of checkpointed row groups (a cell count would show a row group's
        // sampler cells, done at admission, as rows).
        timeline.push({ atSeconds: (atMillis - startMillis) / 1000, rowsDone: progress.rowsCheckpointed, providers })
      }
    }).pipe(
      Effect.scoped,
      Effect.mapError((cause) =>
        new BenchError({ message: `pipeline: ${String((cause as { message?: unknown }).message ?? cause)}`, cause })
      )
    )
    if (poller !== undefined) {
      yield* Fiber.interrupt(poller)
      yield* poll
    }
    // The last sample may come before the last checkpoint: close the timeline with the run's end state.
    const endMillis = yield* Clock.currentTimeMillis
    const last = timeline.at(-1)
    if (startMillis !== undefined && last !== undefined) {
      timeline.push({
        atSeconds: Math.max(last.atSeconds, (endMillis - startMillis) / 1000),
        rowsDone: summary.rowsCompleted + summary.rowsDropped,
        providers: Object.fromEntries(Object.entries(last.providers).map(([name, v]) => [name, { ...v, inFlight: 0 }]))
      })
    }
    const providers: Array<ProviderOutcome> = []
    for (const [name, endpoint] of endpoints) {
      const stats = yield* endpoint.stats
      const drawn = yield* replayDrawnLatency(endpoint.options, admittedOf(stats))
      providers.push({ name, stats, drawn, endpoint })
    }
    return {
      summary,
      timeline,
      providers,
      activeSeconds,
      rateLimited: rateLimitedMarks(polls, startMillis ?? endMillis)
    } satisfies PipelineBenchRun
  }))
})
