import { ModelRequestExecutor, RequestAdmission, type RequestPressure } from "@sluice/request-admission"
import { resolveScheduling, type SchedulingMetadata } from "@sluice/resolver"
import { makeScheduler } from "@sluice/scheduler"
import { Clock, Effect, Layer, Schedule } from "effect"
import { OpenAiClientLayer } from "../client/index.js"
import { buildColumns } from "../columns/buildColumns.js"
import type { LoadedConfig } from "../config/loadConfig.js"
import { openDatasetDirectory } from "../output/DatasetDirectory.js"
import { makeProgressState, progressFromStats, type ProgressState } from "../progress/ProgressState.js"
import { type ProgressMode, reportProgress } from "../progress/ProgressReporter.js"
import { columnScheduling } from "./columnScheduling.js"
import { schedulerFailureOptions } from "./failureHandling.js"
import { liveGatewayLayer } from "./liveGateway.js"
import { providerHealthOf, startProviders } from "./providers.js"
import { emptyRequestCounts, emptyTokenTally, totalTokens } from "./requestCounters.js"
import { buildSummary, type RunSummary } from "./summary.js"
import { type TokenSummary, tokenSummaryOf, withTokenSummary } from "./tokenSummary.js"

export interface PipelineOptions {
  /** Output directory; rows, metadata.json and summary.json are written there. */
  readonly out: string
  readonly resume: boolean
  readonly progress: ProgressMode
  /** Called with the live progress state and request pressure every `sampleEveryMs` (benchmark timelines). */
  readonly onSample?: ((sample: PipelineSample) => void) | undefined
  readonly sampleEveryMs?: number | undefined
}

export interface PipelineSample {
  readonly atMillis: number
  readonly progress: ProgressState
  readonly pressures: ReadonlyArray<RequestPressure>
}

// Cells land in completion order; a dataset reads best with its columns in config order.
const inColumnOrder = (row: Readonly<Record<string, unknown>>, order: ReadonlyArray<string>) => {
  const ordered: Record<string, unknown> = {}
  for (const name of order) if (name in row) ordered[name] = row[name]
  return ordered
}

const requestAdmissionConfig = (loaded: LoadedConfig) => {
  const settings = loaded.config.run.requestAdmission
  return {
    models: loaded.config.models.map((model) => ({
      provider: model.provider,
      model: model.model,
      alias: model.alias,
      maxParallelRequests: model.maxParallelRequests
    })),
    cooldownSeconds: settings.cooldownSeconds,
    decreaseFactor: settings.decreaseFactor,
    successesUntilIncrease: settings.successesUntilIncrease,
    startupRampSeconds: settings.startupRampSeconds,
    queueWaitTimeoutSeconds: settings.queueWaitTimeoutSeconds,
    slowStart: settings.slowStart,
    slowStartProbeSeconds: settings.slowStartProbeSeconds
  }
}

/**
 * Generates a dataset from a checked config: starts the providers, puts every model call behind request
 * admission, runs the scheduler, writes row groups as they complete, and returns the summary it wrote.
 */
export const runPipeline = Effect.fnUntraced(function*(loaded: LoadedConfig, options: PipelineOptions) {
  const { config } = loaded
  const run = config.run
  const providers = yield* startProviders(loaded.file, config)
  const scheduling = yield* columnScheduling(loaded)
  const resolved = yield* resolveScheduling(scheduling, { maxInFlightTasks: run.maxInFlightTasks })
  const metadataByColumn = new Map<string, SchedulingMetadata>(
    [...resolved.generators].map(([name, generator]) => [name, generator.metadata])
  )
  const dataset = yield* openDatasetDirectory(options.out, {
    configHash: loaded.hash,
    rowsRequested: run.rows,
    bufferSize: run.bufferSize,
    resume: options.resume
  })

  const requests = emptyRequestCounts()
  const tokens = emptyTokenTally()
  const admissionLayer = RequestAdmission.layer(requestAdmissionConfig(loaded))
  const servicesLayer = Layer.mergeAll(
    liveGatewayLayer({ file: loaded.file, models: config.models, providers, counts: requests, tokens }).pipe(
      Layer.provide(ModelRequestExecutor.layer()),
      Layer.provide(OpenAiClientLayer)
    )
  ).pipe(Layer.provideMerge(admissionLayer))

  return yield* Effect.gen(function*() {
    const admission = yield* RequestAdmission

    const columns = buildColumns(loaded.columns, { seed: run.seed, scheduling: metadataByColumn })
    const columnOrder = loaded.columns.flatMap((column) => column.outputs)
    const scheduler = yield* makeScheduler({
      columns,
      scheduling: resolved,
      rows: run.rows,
      bufferSize: run.bufferSize,
      sink: {
        write: (checkpoint) =>
          dataset.writeRowGroup(checkpoint.rowGroup, checkpoint.rows.map((row) => inColumnOrder(row, columnOrder)))
      }
    }, {
      maxConcurrentRowGroups: run.maxConcurrentRowGroups,
      maxInFlightTasks: run.maxInFlightTasks,
      requestCapacity: admission,
      resume: { completedRowGroups: dataset.completedRowGroups },
      ...schedulerFailureOptions(run)
    })
    // Row groups an earlier run completed are skipped by the scheduler; progress starts with their rows done.
    let rowsResumed = 0
    for (const id of dataset.completedRowGroups) {
      rowsResumed += Math.max(0, Math.min(run.bufferSize, run.rows - id * run.bufferSize))
    }
    const start = makeProgressState(run.rows, (run.rows - rowsResumed) * columns.length, rowsResumed)
    const progress = Effect.map(scheduler.stats, (stats) => progressFromStats(start, stats))
    yield* reportProgress(
      options.progress,
      progress,
      admission.pressures,
      providerHealthOf(providers),
      Effect.sync(() => totalTokens(tokens))
    )
    if (options.onSample !== undefined) {
      const onSample = options.onSample
      yield* Effect.gen(function*() {
        const atMillis = yield* Clock.currentTimeMillis
        onSample({ atMillis, progress: yield* progress, pressures: yield* admission.pressures })
      }).pipe(Effect.repeat(Schedule.spaced(options.sampleEveryMs ?? 100)), Effect.forkScoped)
    }

    // Nanoseconds: a millisecond clock would put ±1 ms of rounding into benchmark comparisons.
    const started = yield* Clock.currentTimeNanos
    const result = yield* scheduler.run
    const elapsedSeconds = Number((yield* Clock.currentTimeNanos) - started) / 1e9
    const inspection = yield* admission.inspect
    const schedulerStats = yield* scheduler.stats
    const mockStats = yield* Effect.forEach(
      [...providers.values()].flatMap((
        provider
      ) => (provider.mock === undefined ? [] : [[provider.name, provider.mock] as const])),
      ([name, mock]) => Effect.map(mock.stats, (stats) => [name, stats] as const)
    )
    const summary: RunSummary & { readonly tokens: TokenSummary } = withTokenSummary(
      buildSummary({
        result,
        elapsedSeconds,
        requests,
        leaks: {
          taskLeases: schedulerStats.taskLeases,
          requestLeases: inspection.activeLeases,
          requestWaiters: inspection.waiters
        },
        mockStats
      }),
      tokenSummaryOf(tokens, config.models)
    )
    yield* dataset.writeSummary(summary)
    return { summary, result }
  }).pipe(Effect.provide(servicesLayer))
})
