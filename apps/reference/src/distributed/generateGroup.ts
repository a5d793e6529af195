import type { RequestAdmissionShape } from "@sluice/request-admission"
import type { ResolvedScheduling } from "@sluice/resolver"
import { type Column, makeScheduler, type SchedulerResult } from "@sluice/scheduler"
import { Effect } from "effect"
import { writtenColumns } from "../config/checkReferences.js"
import type { LoadedConfig } from "../config/loadConfig.js"
import type { ModelGateway } from "../columns/ModelGateway.js"
import { DatasetState } from "../output/DatasetState.js"
import type { DropRecord } from "../output/dropped.js"
import type { GroupPublication } from "../output/GroupWriter.js"
import { dropRecordOf, FailureLog } from "../pipeline/dropCauses.js"
import { schedulerFailureOptions } from "../pipeline/failureHandling.js"
import { GroupAssembly } from "../pipeline/groupAssembly.js"
import { datasetRowOf, planColumns, type RowPlan, RowRanges } from "../pipeline/rowPlan.js"
import { rowProcessors } from "../pipeline/rowProcessors.js"
import { type RunStop, stopOf } from "../pipeline/summary.js"

/** What one row group's generation gave: its publication (rows and drops), or why the run must stop. */
export interface GroupOutcome {
  readonly publication: GroupPublication | undefined
  readonly stop: RunStop | undefined
}

export interface GroupGeneratorContext {
  readonly loaded: LoadedConfig
  readonly columns: ReadonlyArray<Column<ModelGateway>>
  readonly resolved: ResolvedScheduling
  readonly admission: RequestAdmissionShape
  readonly secrets: ReadonlyArray<string>
  readonly redact: (text: string) => string
}

/**
 * Generates one dataset row group with the single-process pipeline: the scheduler runs a plan of just that
 * group's rows, each generator sees every row under its dataset index (so samplers, templates and prompts give
 * what a single-process run gives), failures follow the run's policy, and the group's dropped rows carry the
 * scheduler's exact causes.
 */
export const generateGroup = Effect.fnUntraced(function*(context: GroupGeneratorContext, group: number) {
  const { loaded } = context
  const run = loaded.config.run
  const state = new DatasetState(run.rows, run.bufferSize)
  const first = group * run.bufferSize
  const plan: RowPlan = { _tag: "Rows", rows: RowRanges.of([[first, first + state.groupSize(group)]]) }
  const failures = new FailureLog(run.bufferSize, context.secrets)
  const assembly = new GroupAssembly(plan, state, failures, writtenColumns(loaded.columns))
  const published: Array<GroupPublication> = []
  const scheduler = yield* makeScheduler({
    columns: planColumns(context.columns, plan, run.bufferSize, failures),
    processors: rowProcessors(loaded.processors),
    scheduling: context.resolved,
    rows: plan.rows.length,
    bufferSize: run.bufferSize,
    sink: { write: (checkpoint) => Effect.sync(() => published.push(...assembly.onCheckpoint(checkpoint))) }
  }, {
    maxConcurrentRowGroups: 1,
    maxInFlightTasks: run.maxInFlightTasks,
    requestCapacity: context.admission,
    ...schedulerFailureOptions(run)
  })
  const result: SchedulerResult = yield* scheduler.run
  const recordOf = (dropped: SchedulerResult["droppedRows"][number]) =>
    dropRecordOf(dropped, datasetRowOf(plan, dropped.row), run.bufferSize, context.secrets)
  published.push(...assembly.onRunEnd(result.droppedRows, recordOf))
  // The scheduler knows each drop's exact cause; what was recorded while the group ran was the last failure.
  const exact = new Map<number, DropRecord>()
  for (const dropped of result.droppedRows) {
    const record = recordOf(dropped)
    exact.set(record.row - first, record)
  }
  const publication = published.find((candidate) => candidate.group === group)
  return {
    publication: publication === undefined ? undefined : {
      group,
      rows: publication.rows,
      dropped: new Map([...publication.dropped].map(([index, record]) => [index, exact.get(index) ?? record]))
    },
    stop: stopOf(result, context.redact)
  } satisfies GroupOutcome
})
