import type { RequestPressure } from "@sluice/request-admission"
import type { SchedulerStats } from "@sluice/scheduler"

/**
 * What the progress display and the benchmark timeline read: a snapshot of the scheduler's progress counters
 * (`scheduler.stats`, polled). Polling rather than subscribing to scheduler events keeps the run on the
 * scheduler's no-listener path: no event is built for a display that samples a few times a second.
 */
export interface ProgressState {
  readonly rowsTotal: number
  /** Rows an earlier run already wrote (`--resume`): done from the start, not part of this run's rate. */
  readonly rowsResumed: number
  /** Cells this run generates: (rows − resumed rows) × columns. */
  readonly cellsTotal: number
  /** Cells written by successful tasks (a full-column task, e.g. a sampler, writes a whole row group's). */
  readonly cellsDone: number
  /** Rows of checkpointed row groups, surviving and dropped. */
  readonly rowsCheckpointed: number
  readonly rowsDropped: number
}

export const makeProgressState = (rowsTotal: number, cellsTotal: number, rowsResumed = 0): ProgressState => ({
  rowsTotal,
  rowsResumed,
  cellsTotal,
  cellsDone: 0,
  rowsCheckpointed: 0,
  rowsDropped: 0
})

/** The progress of `start` after the run's counters reached `stats`. */
export const progressFromStats = (
  start: ProgressState,
  stats: Pick<SchedulerStats, "cellsCompleted" | "checkpointedRows" | "rowsDropped"> & {
    readonly cellsSkipped?: number
  }
): ProgressState => ({
  ...start,
  // A skipped cell is done too: it needs no more work.
  cellsDone: stats.cellsCompleted + (stats.cellsSkipped ?? 0),
  rowsCheckpointed: stats.checkpointedRows,
  rowsDropped: stats.rowsDropped
})

/**
 * Rows done so far: resumed rows, plus this run's rows as a fraction of whole rows (cells done ÷ cells per row),
 * never behind what this run has written.
 */
export const rowsDone = (state: ProgressState): number => {
  const toGenerate = state.rowsTotal - state.rowsResumed
  const generated = Math.min(toGenerate, (state.cellsDone / Math.max(1, state.cellsTotal)) * toGenerate)
  return state.rowsResumed + Math.max(state.rowsCheckpointed, generated)
}

export interface ProviderLoad {
  readonly provider: string
  readonly inFlight: number
  readonly limit: number
  readonly coolingDown: boolean
}

/** In-flight requests against the adaptive limit, per provider (summed over its models). */
export const providerLoads = (pressures: ReadonlyArray<RequestPressure>): ReadonlyArray<ProviderLoad> => {
  const byProvider = new Map<string, { inFlight: number; limit: number; coolingDown: boolean }>()
  for (const pressure of pressures) {
    const load = byProvider.get(pressure.resource.provider) ?? { inFlight: 0, limit: 0, coolingDown: false }
    load.inFlight += pressure.inFlight
    load.limit += pressure.currentLimit
    load.coolingDown ||= pressure.blockedUntilMillis !== null
    byProvider.set(pressure.resource.provider, load)
  }
  return [...byProvider].map(([provider, load]) => ({ provider, ...load }))
}

export const formatLoads = (loads: ReadonlyArray<ProviderLoad>): string =>
  loads.map((l) => `${l.provider} ${l.inFlight}/${l.limit}${l.coolingDown ? " (cooling down)" : ""}`).join(", ")
