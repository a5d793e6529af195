import { ModelRequestExecutor, RequestAdmission, type RequestPressure } from "@sluice/request-admission"
import { resolveScheduling, type SchedulingMetadata } from "@sluice/resolver"
import { makeScheduler, type SchedulerResult } from "@sluice/scheduler"
import { Clock, Effect, FileSystem, Layer, Path, Redacted, Schedule, Schema } from "effect"
import packageJson from "../../package.json" with { type: "json" }
import { OpenAiClientLayer } from "../client/index.js"
import { buildColumns } from "../columns/buildColumns.js"
import { writtenColumns } from "../config/checkReferences.js"
import type { LoadedConfig } from "../config/loadConfig.js"
import { redactedConfig } from "../config/redactedConfig.js"
import { SluiceConfig } from "../config/schema.js"
import { dataIdentityOf } from "../output/dataIdentity.js"
import { makeGroupWriter } from "../output/GroupWriter.js"
import { eventsFile, summaryFile } from "../output/layout.js"
import { ioError } from "../output/OutputError.js"
import { EventLog } from "../events/EventLog.js"
import { recordEvents } from "../events/recordEvents.js"
import { replaceFileDurably } from "../output/durable.js"
import { eventRunIdPrefix } from "../output/manifest.js"
import { openOutput, type OutputMode } from "../output/OutputDirectory.js"
import { redactSecrets } from "../output/redact.js"
import { makeProgressState, progressFromStats, type ProgressState } from "../progress/ProgressState.js"
import { type ProgressMode, reportProgress } from "../progress/ProgressReporter.js"
import { columnScheduling } from "./columnScheduling.js"
import { dropRecordOf, FailureLog } from "./dropCauses.js"
import { schedulerFailureOptions } from "./failureHandling.js"
import { GroupAssembly } from "./groupAssembly.js"
import { liveGatewayLayer } from "./liveGateway.js"
import { providerHealthOf, startProviders } from "./providers.js"
import { emptyRequestCounts, emptyTokenTally, totalTokens } from "./requestCounters.js"
import {
  datasetRowOf,
  datasetRowsOfEvent,
  planColumns,
  plannedRowCount,
  type RowPlan,
  planRows,
  rowsPlannedEvent
} from "./rowPlan.js"
import { rowProcessors } from "./rowProcessors.js"
import { buildSummary, type RunStop, type RunSummary, stopOf } from "./summary.js"
import { type TokenSummary, tokenSummaryOf, withTokenSummary } from "./tokenSummary.js"

export interface PipelineOptions<BeforeRunError = never> {
  /** Output directory; see the README for what Sluice writes there. */
  readonly out: string
  /** Continue the dataset in `out` (`--resume`). */
  readonly resume: boolean
  /** Replace the dataset in `out` (`--overwrite`); only files Sluice wrote are removed. */
  readonly overwrite?: boolean | undefined
  /** With `resume`: regenerate the rows earlier attempts dropped (`--retry-dropped`). */
  readonly retryDropped?: boolean | undefined
  readonly progress: ProgressMode
  /** Called with the live progress state and request pressure every `sampleEveryMs` (benchmark timelines). */
  readonly onSample?: ((sample: PipelineSample) => void) | undefined
  readonly sampleEveryMs?: number | undefined
  /**
   * The models' check: runs once the output directory is known to be usable and before anything in it is created,
   * replaced or removed, so a run that cannot start leaves it as it was.
   */
  readonly check?: Effect.Effect<void, BeforeRunError> | undefined
  /** Runs once the output directory is open and locked, before any provider starts. */
  readonly beforeRun?: Effect.Effect<void, BeforeRunError> | undefined
  /** Runs after an interrupted run has published what it finished and written its summary. */
  readonly onInterrupted?:
    | ((summary: RunSummary & { readonly tokens: TokenSummary }) => Effect.Effect<void>)
    | undefined
}

export interface PipelineSample {
  readonly atMillis: number
  readonly progress: ProgressState
  readonly pressures: ReadonlyArray<RequestPressure>
}

/** The request-admission settings of a config (a distributed worker shares them through Redis). */
export const requestAdmissionConfig = (loaded: LoadedConfig) => {
  const settings = loaded.config.run.requestAdmission
  return {
    models: loaded.config.models.map((model) => ({
      provider: model.provider,
      model: model.model,
      alias: model.alias,
      maxParallelRequests: model.maxParallelRequests,
      ...(model.requestsPerMinute === undefined ? {} : { requestsPerMinute: model.requestsPerMinute }),
      ...(model.tokensPerMinute === undefined ? {} : { tokensPerMinute: model.tokensPerMinute })
    })),
    cooldownSeconds: settings.cooldownSeconds,
    decreaseFactor: settings.decreaseFactor,
    successesUntilIncrease: settings.successesUntilIncrease,
    startupRampSeconds: settings.startupRampSeconds,
    queueWaitTimeoutSeconds: settings.queueWaitTimeoutSeconds,
    slowStart: settings.slowStart,
    slowStartProbeSeconds: settings.slowStartProbeSeconds,
    budgetBurstSeconds: settings.budgetBurstSeconds
  }
}

const modeOf = (options: PipelineOptions<unknown>): OutputMode =>
  options.resume ? "resume" : options.overwrite === true ? "overwrite" : "fresh"

/**
 * Generates a dataset from a checked config: opens (and locks) the output directory, starts the providers, puts
 * every model call behind request admission, runs the scheduler over the rows still to generate, publishes row
 * groups as they complete, and returns the summary it wrote — also when the run is interrupted.
 */
export const runPipeline = Effect.fnUntraced(function*<BeforeRunError = never>(
  loaded: LoadedConfig,
  options: PipelineOptions<BeforeRunError>
) {
  const fs = yield* FileSystem.FileSystem
  const path = yield* Path.Path
  const { config } = loaded
  const run = config.run
  const identity = dataIdentityOf(config, loaded.seed?.sha256)
  const output = yield* openOutput(options.out, {
    mode: modeOf(options),
    rowsRequested: run.rows,
    bufferSize: run.bufferSize,
    identity,
    configHash: loaded.hash,
    configFile: loaded.file,
    // Header values and keys never reach the output directory.
    config: Schema.encodeSync(SluiceConfig)(redactedConfig(config)),
    createdBy: `sluice ${packageJson.version}`,
    columns: writtenColumns(loaded.columns),
    events: run.events === true
  }, options.check)
  const { state } = output
  if (options.beforeRun !== undefined) yield* options.beforeRun
  const writer = yield* makeGroupWriter(options.out, state, {
    metadata: { configHash: loaded.hash, dataIdentity: identity.hash },
    format: run.format ?? "jsonl"
  })
  // `run.events`: events.jsonl, appended to by each attempt; the run id names the dataset and the attempt.
  const eventsPath = path.join(options.out, eventsFile)
  const events = run.events === true
    ? EventLog.open(
      `${eventRunIdPrefix(identity.hash)}${output.attempt}`,
      yield* fs.open(eventsPath, { flag: "a" }).pipe(Effect.mapError(ioError(eventsPath))),
      eventsPath
    )
    : EventLog.disabled
  const statusCounts = new Map<string, Record<string, number>>()
  const providers = yield* startProviders(loaded.file, config)
  const secrets = [...providers.values()].flatMap((p) => (p.apiKey === undefined ? [] : [Redacted.value(p.apiKey)]))
  const redact = (text: string) => redactSecrets(text, secrets)
  const scheduling = yield* columnScheduling(loaded)
  const resolved = yield* resolveScheduling(scheduling, { maxInFlightTasks: run.maxInFlightTasks })
  const metadataByColumn = new Map<string, SchedulingMetadata>(
    [...resolved.generators].map(([name, generator]) => [name, generator.metadata])
  )
  const plan = planRows(state, options.retryDropped === true)

  const requests = emptyRequestCounts()
  const tokens = emptyTokenTally()
  const admissionLayer = RequestAdmission.layer(requestAdmissionConfig(loaded))
  const servicesLayer = Layer.mergeAll(
    liveGatewayLayer({
      file: loaded.file,
      models: config.models,
      providers,
      counts: requests,
      tokens,
      events,
      statusCounts
    }).pipe(
      Layer.provide(ModelRequestExecutor.layer()),
      Layer.provide(OpenAiClientLayer)
    )
  ).pipe(Layer.provideMerge(admissionLayer))

  const writeSummary = (summary: RunSummary & { readonly tokens: TokenSummary }) =>
    replaceFileDurably(fs, options.out, path.join(options.out, summaryFile), JSON.stringify(summary, null, 2) + "\n")

  return yield* Effect.gen(function*() {
    const admission = yield* RequestAdmission
    const columns = buildColumns(loaded.columns, {
      seed: run.seed,
      scheduling: metadataByColumn,
      events: events.enabled
    })
    // Nanoseconds: a millisecond clock would put ±1 ms of rounding into benchmark comparisons.
    const started = yield* Clock.currentTimeNanos

    const summarize = Effect.fnUntraced(function*(ending: {
      readonly interrupted: boolean
      readonly stop?: RunStop | undefined
      readonly result?: SchedulerResult | undefined
      readonly taskLeases: number
    }) {
      const elapsedSeconds = Number((yield* Clock.currentTimeNanos) - started) / 1e9
      const inspection = yield* admission.inspect
      const mockStats = yield* Effect.forEach(
        [...providers.values()].flatMap((provider) =>
          provider.mock === undefined ? [] : [[provider.name, provider.mock] as const]
        ),
        ([name, mock]) => Effect.map(mock.stats, (stats) => [name, stats] as const)
      )
      const summary = withTokenSummary(
        buildSummary({
          state,
          attempt: output.attempt,
          interrupted: ending.interrupted,
          stop: ending.stop,
          elapsedSeconds,
          requests,
          maxRequestWaiters: ending.result?.maxRequestWaiters ?? 0,
          leaks: {
            taskLeases: ending.taskLeases,
            requestLeases: inspection.activeLeases,
            requestWaiters: inspection.waiters
          },
          mockStats
        }),
        tokenSummaryOf(tokens, config.models)
      )
      yield* writeSummary(summary)
      return summary
    })

    const generate = Effect.fnUntraced(function*(plan: RowPlan) {
      const failures = new FailureLog(run.bufferSize, secrets)
      const columnOrder = writtenColumns(loaded.columns)
      const assembly = new GroupAssembly(plan, state, failures, columnOrder)
      const scheduler = yield* makeScheduler({
        columns: planColumns(columns, plan, run.bufferSize, failures),
        processors: rowProcessors(loaded.processors),
        scheduling: resolved,
        rows: plan._tag === "Rows" ? plan.rows.length : run.rows,
        bufferSize: run.bufferSize,
        sink: {
          write: (checkpoint) =>
            Effect.suspend(() => Effect.forEach(assembly.onCheckpoint(checkpoint), writer.publish, { discard: true }))
        }
      }, {
        maxConcurrentRowGroups: run.maxConcurrentRowGroups,
        maxInFlightTasks: run.maxInFlightTasks,
        requestCapacity: admission,
        ...(plan._tag === "Groups" ? { resume: { completedRowGroups: plan.skip } } : {}),
        ...schedulerFailureOptions(run)
      })
      const taskLeases = Effect.map(scheduler.stats, (stats) => stats.taskLeases)
      if (events.enabled && plan._tag === "Rows") {
        events.record(rowsPlannedEvent(plan.rows, yield* Clock.currentTimeMillis))
      }
      const finishEvents = events.enabled
        ? yield* recordEvents(events, {
          scheduler,
          admission,
          providerHealth: providerHealthOf(providers),
          statusCounts: () => Object.fromEntries(statusCounts),
          // Retried rows run packed into row groups of their own: events name them by their dataset rows.
          ...(plan._tag === "Rows" ? { schedulerEvent: datasetRowsOfEvent(plan.rows, run.bufferSize) } : {})
        })
        : Effect.void

      const planned = plannedRowCount(plan, state)
      const start = makeProgressState(run.rows, planned * columns.length, run.rows - planned)
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

      // Interrupted (Ctrl-C, SIGTERM): publish the row groups already complete, then say where things stand.
      const onInterrupt = Effect.gen(function*() {
        yield* Effect.ignore(finishEvents)
        yield* writer.drain
        yield* writer.finish
        const summary = yield* summarize({ interrupted: true, taskLeases: yield* taskLeases })
        if (options.onInterrupted !== undefined) yield* options.onInterrupted(summary)
      }).pipe(Effect.ignore)

      return yield* Effect.gen(function*() {
        const result = yield* scheduler.run
        yield* finishEvents
        const recordOf = (dropped: SchedulerResult["droppedRows"][number]) =>
          dropRecordOf(dropped, datasetRowOf(plan, dropped.row), run.bufferSize, secrets)
        for (const publication of assembly.onRunEnd(result.droppedRows, recordOf)) yield* writer.publish(publication)
        yield* writer.drain
        // The scheduler knows each drop's exact cause; what was recorded while the run went on was the last failure.
        for (const dropped of result.droppedRows) state.correctCause(recordOf(dropped))
        yield* writer.finish
        return yield* summarize({
          interrupted: false,
          stop: stopOf(result, redact),
          result,
          taskLeases: yield* taskLeases
        })
      }).pipe(
        Effect.onInterrupt(() => onInterrupt),
        Effect.tapError(() => Effect.ignore(writer.drain))
      )
    })

    if (plan !== undefined) return { summary: yield* generate(plan) }
    // Nothing left to generate (a resumed dataset that is complete, or whose only gaps are dropped rows).
    yield* writer.drain
    yield* writer.finish
    return { summary: yield* summarize({ interrupted: false, taskLeases: 0 }) }
  }).pipe(Effect.provide(servicesLayer))
})
