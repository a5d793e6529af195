import type { MockStats } from "@sluice/mock-provider"
import type { DatasetState } from "../output/DatasetState.js"
import type { RequestCounts } from "./requestCounters.js"

/**
 * How a run ended:
 * - `completed`: every requested row is on disk;
 * - `completed_with_drops`: the run finished; some rows were dropped (their causes are in `dropCauses`);
 * - `stopped`: the run stopped early (early shutdown, a failure that stops the run, a provider marked down) and
 *   rows are missing;
 * - `interrupted`: SIGINT/SIGTERM; `--resume` continues it.
 */
export type RunStatus = "completed" | "completed_with_drops" | "stopped" | "interrupted"

/** Why a run stopped early. */
export interface RunStop {
  readonly reason: string
  readonly kind?: string
  readonly message: string
}

/**
 * `summary.json`. Other tools read these names: keep them, add new ones. Row counts describe the dataset as it is
 * on disk after this attempt, across every attempt (`--resume`); request counts and times are this attempt's.
 */
export interface RunSummary {
  readonly status: RunStatus
  /** 1 for the first run of this output directory, +1 per `--resume`. */
  readonly attempt: number
  readonly rowsRequested: number
  /** Rows on disk, from the checkpoint journal. */
  readonly rowsCompleted: number
  /** Rows dropped and not regenerated since, in every attempt. */
  readonly rowsDropped: number
  /** Of `rowsDropped`, the rows a configured processor dropped on purpose (`processor_dropped`). */
  readonly rowsFiltered: number
  /** Rows neither on disk nor dropped: not generated yet (`--resume` generates them). */
  readonly rowsMissing: number
  /** Dropped rows per cause kind. */
  readonly dropCauses: Readonly<Record<string, number>>
  /** Up to 5 distinct provider messages (keys redacted) per cause kind. */
  readonly dropMessages: Readonly<Record<string, ReadonlyArray<string>>>
  readonly stop?: RunStop
  readonly elapsedSeconds: number
  readonly requests: RequestCounts
  readonly maxRequestWaiters: number
  readonly leaks: { readonly taskLeases: number; readonly requestLeases: number; readonly requestWaiters: number }
  readonly providers?: Readonly<
    Record<string, Pick<MockStats, "served" | "rejected429" | "serverErrors" | "maxConcurrent">>
  >
}

export interface SummaryInputs {
  readonly state: DatasetState
  readonly attempt: number
  readonly interrupted: boolean
  readonly stop: RunStop | undefined
  readonly elapsedSeconds: number
  readonly requests: RequestCounts
  readonly maxRequestWaiters: number
  readonly leaks: RunSummary["leaks"]
  readonly mockStats: ReadonlyArray<readonly [string, MockStats]>
}

const messagesPerKind = 5
const round = (seconds: number): number => Math.round(seconds * 1000) / 1000

/** The drop kind of rows a configured processor dropped: wanted, not a failure. */
export const processorDropKind = "processor_dropped"

const rowsFilteredOf = (state: DatasetState): number => {
  let filtered = 0
  for (const record of state.dropped.values()) if (record.kind === processorDropKind) filtered++
  return filtered
}

// Rows a processor dropped count as done: a run whose only drops are those completed.
export const statusOf = (
  state: DatasetState,
  interrupted: boolean,
  stop: RunStop | undefined
): RunStatus =>
  interrupted
    ? "interrupted"
    : stop !== undefined || state.rowsMissing > 0
    ? "stopped"
    : state.rowsOnDisk + rowsFilteredOf(state) === state.rowsRequested
    ? "completed"
    : "completed_with_drops"

export const buildSummary = (inputs: SummaryInputs): RunSummary => {
  const { state } = inputs
  const dropCauses: Record<string, number> = {}
  const dropMessages: Record<string, Array<string>> = {}
  for (const record of [...state.dropped.values()].sort((a, b) => a.row - b.row)) {
    dropCauses[record.kind] = (dropCauses[record.kind] ?? 0) + 1
    const messages = dropMessages[record.kind] ??= []
    if (messages.length < messagesPerKind && !messages.includes(record.message)) messages.push(record.message)
  }
  return {
    status: statusOf(state, inputs.interrupted, inputs.stop),
    attempt: inputs.attempt,
    rowsRequested: state.rowsRequested,
    rowsCompleted: state.rowsOnDisk,
    rowsDropped: state.rowsDropped,
    rowsFiltered: rowsFilteredOf(state),
    rowsMissing: state.rowsMissing,
    dropCauses,
    dropMessages,
    ...(inputs.stop === undefined ? {} : { stop: inputs.stop }),
    elapsedSeconds: round(inputs.elapsedSeconds),
    requests: inputs.requests,
    maxRequestWaiters: inputs.maxRequestWaiters,
    leaks: inputs.leaks,
    ...(inputs.mockStats.length === 0 ? {} : {
      providers: Object.fromEntries(inputs.mockStats.map(([name, stats]) => [name, {
        served: stats.served,
        rejected429: stats.rejected429,
        serverErrors: stats.serverErrors,
        maxConcurrent: stats.maxConcurrent
      }]))
    })
  }
}

/** Why the scheduler's run stopped early, if it did (kinds are matched as strings: new stop reasons still show). */
export const stopOf = (
  result: {
    readonly earlyShutdown: boolean
    readonly dropCauses: Readonly<Partial<Record<string, number>>>
    readonly droppedRows: ReadonlyArray<{ readonly cause: { readonly kind: string; readonly message: string } }>
  },
  redact: (text: string) => string
): RunStop | undefined => {
  const reported = (result as { readonly stop?: RunStop }).stop
  if (reported !== undefined) {
    return {
      reason: reported.reason,
      ...(reported.kind === undefined ? {} : { kind: reported.kind }),
      message: redact(reported.message)
    }
  }
  if (result.earlyShutdown) {
    return {
      reason: "early_shutdown",
      message: "most recent task outcomes were failures that retrying cannot fix"
    }
  }
  if ((result.dropCauses["provider_unreachable"] ?? 0) > 0) {
    const first = result.droppedRows.find((dropped) => dropped.cause.kind === "provider_unreachable")
    return {
      reason: "provider_unreachable",
      kind: "provider_unreachable",
      message: redact(first?.cause.message ?? "a provider was marked down")
    }
  }
  return undefined
}
