import type { SchedulerResult } from "@sluice/scheduler"
import type { MockStats } from "@sluice/mock-provider"
import type { RequestCounts } from "./requestCounters.js"

/** `summary.json` (DESIGN §6): other tools read these names, keep them exactly. */
export interface RunSummary {
  readonly rowsRequested: number
  readonly rowsCompleted: number
  readonly rowsDropped: number
  readonly dropCauses: Readonly<Record<string, number>>
  readonly elapsedSeconds: number
  readonly requests: RequestCounts
  readonly maxRequestWaiters: number
  readonly leaks: { readonly taskLeases: number; readonly requestLeases: number; readonly requestWaiters: number }
  readonly providers?: Readonly<
    Record<string, Pick<MockStats, "served" | "rejected429" | "serverErrors" | "maxConcurrent">>
  >
}

export interface SummaryInputs {
  readonly result: SchedulerResult
  readonly elapsedSeconds: number
  readonly requests: RequestCounts
  readonly leaks: RunSummary["leaks"]
  readonly mockStats: ReadonlyArray<readonly [string, MockStats]>
}

const round = (seconds: number): number => Math.round(seconds * 1000) / 1000

export const buildSummary = (inputs: SummaryInputs): RunSummary => {
  const { result } = inputs
  const dropCauses: Record<string, number> = {}
  for (const [kind, count] of Object.entries(result.dropCauses)) if (count !== undefined) dropCauses[kind] = count
  return {
    // A resumed run reports the whole dataset: rows written by earlier runs count as completed.
    rowsRequested: result.rowsRequested,
    rowsCompleted: result.rowsCompleted + result.rowsResumed,
    rowsDropped: result.rowsDropped,
    dropCauses,
    elapsedSeconds: round(inputs.elapsedSeconds),
    requests: inputs.requests,
    maxRequestWaiters: result.maxRequestWaiters,
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
