import type { BatchInput, CellInput, Column, SchedulerEvent } from "@sluice/scheduler"
import { parseTaskId, type TaskId, taskId } from "@sluice/scheduling-resources"
import { Effect, Option } from "effect"
import type { DatasetState } from "../output/DatasetState.js"
import type { FailureLog } from "./dropCauses.js"
import { processorDropKind } from "./summary.js"

/**
 * The rows a run generates. Most runs generate whole row groups — every group of a new dataset, or the groups a
 * resumed one has not published — and the scheduler runs the dataset's own groups (`skip` lists the published
 * ones). `--retry-dropped` regenerates single rows of published groups: then the scheduler runs a dataset of just
 * those rows (and any unpublished groups' rows), packed into groups of `bufferSize`, and every generator sees
 * each row under its dataset index, so samplers, templates and prompts produce what they would have in place.
 */
export type RowPlan =
  | { readonly _tag: "Groups"; readonly rows: number; readonly skip: ReadonlySet<number> }
  | { readonly _tag: "Rows"; readonly rows: RowRanges }

/**
 * Dataset rows as sorted, disjoint `[start, end)` ranges: the scheduler's row `i` is the `i`-th of them. Ranges,
 * not a list of rows, so a plan over a billion-row dataset costs one entry per dropped row or run of groups.
 */
export class RowRanges {
  /** The scheduler row each range begins at. */
  private readonly offsets: ReadonlyArray<number>
  readonly length: number

  constructor(readonly starts: ReadonlyArray<number>, readonly ends: ReadonlyArray<number>) {
    const offsets: Array<number> = []
    let length = 0
    for (let i = 0; i < starts.length; i++) {
      offsets.push(length)
      length += ends[i]! - starts[i]!
    }
    this.offsets = offsets
    this.length = length
  }

  /** Builds the ranges of ascending, distinct rows and row spans. */
  static of(spans: ReadonlyArray<readonly [number, number]>): RowRanges {
    const starts: Array<number> = []
    const ends: Array<number> = []
    for (const [start, end] of [...spans].sort((a, b) => a[0] - b[0])) {
      if (ends.length > 0 && ends[ends.length - 1] === start) ends[ends.length - 1] = end
      else {
        starts.push(start)
        ends.push(end)
      }
    }
    return new RowRanges(starts, ends)
  }

  /** The dataset row of the scheduler's row `row` (binary search over the ranges). */
  datasetRow(row: number): number {
    let low = 0
    let high = this.offsets.length - 1
    while (low < high) {
      const middle = (low + high + 1) >> 1
      if (this.offsets[middle]! <= row) low = middle
      else high = middle - 1
    }
    return this.starts[low]! + (row - this.offsets[low]!)
  }

  /** How many planned rows lie in `[start, end)`. */
  countIn(start: number, end: number): number {
    // The first range that ends after `start`, by binary search; then the ranges that overlap.
    let low = 0
    let high = this.ends.length
    while (low < high) {
      const middle = (low + high) >> 1
      if (this.ends[middle]! <= start) low = middle + 1
      else high = middle
    }
    let count = 0
    for (let i = low; i < this.starts.length && this.starts[i]! < end; i++) {
      count += Math.min(end, this.ends[i]!) - Math.max(start, this.starts[i]!)
    }
    return count
  }
}

/** The plan for a dataset in `state`, or undefined when there is nothing to generate. */
export const planRows = (state: DatasetState, retryDropped: boolean): RowPlan | undefined => {
  const unpublished = state.unpublishedGroups()
  // Rows a processor dropped were dropped on purpose: `--retry-dropped` leaves them.
  const retried = retryDropped
    ? state.droppedRows().filter((row) => state.dropped.get(row)?.kind !== processorDropKind)
    : []
  if (retried.length === 0) {
    if (unpublished.length === 0) return undefined
    return { _tag: "Groups", rows: state.rowsRequested, skip: new Set(state.published.keys()) }
  }
  const spans: Array<readonly [number, number]> = retried.map((row) => [row, row + 1] as const)
  for (const group of unpublished) {
    const first = group * state.bufferSize
    spans.push([first, first + state.groupSize(group)])
  }
  return { _tag: "Rows", rows: RowRanges.of(spans) }
}

/**
 * A scheduler event as `events.jsonl` records it under a `Rows` plan, in the dataset's coordinates as model attempt
 * events have them: a row-level event's `row` and `rowGroup`, and a cell task's id, name the dataset's row; the
 * run's own are kept as `runRow`, `runRowGroup` and `runTaskId`. Group-level events and the ids of full-column
 * tasks keep the run's row groups; `rowsPlannedEvent` maps those to dataset rows.
 */
export const datasetRowsOfEvent = (rows: RowRanges, bufferSize: number) => {
  const cellTaskId = (id: TaskId): TaskId | undefined => {
    const ref = Option.getOrUndefined(parseTaskId(id))
    if (ref === undefined || ref.type !== "cell" || ref.rowIndex === null) return undefined
    const row = rows.datasetRow(ref.rowGroup * bufferSize + ref.rowIndex)
    return taskId({ ...ref, rowGroup: Math.floor(row / bufferSize), rowIndex: row % bufferSize })
  }
  return (event: SchedulerEvent): Record<string, unknown> => {
    if ("row" in event) {
      const row = rows.datasetRow(event.row)
      return { ...event, rowGroup: Math.floor(row / bufferSize), row, runRowGroup: event.rowGroup, runRow: event.row }
    }
    if ("taskId" in event) {
      const id = cellTaskId(event.taskId)
      return id === undefined ? event : { ...event, taskId: id, runTaskId: event.taskId }
    }
    return event
  }
}

/** Which dataset rows a `Rows` plan's run rows are: `[start, end)` ranges, in run-row order. */
export const rowsPlannedEvent = (rows: RowRanges, at: number) => ({
  _tag: "rows_planned",
  at,
  rows: rows.length,
  datasetRows: rows.starts.map((start, i) => [start, rows.ends[i]!])
})

/** Rows the scheduler runs for this plan. */
export const plannedRowCount = (plan: RowPlan, state: DatasetState): number =>
  plan._tag === "Rows"
    ? plan.rows.length
    : plan.rows - [...plan.skip].reduce((sum, group) => sum + state.groupSize(group), 0)

/** The dataset row of the scheduler's row `row`. */
export const datasetRowOf = (plan: RowPlan, row: number): number =>
  plan._tag === "Rows" ? plan.rows.datasetRow(row) : row

/**
 * The columns the scheduler runs: each records its failures in `failures` (by dataset row), and under a `Rows`
 * plan sees the dataset's row indexes instead of the packed ones.
 */
export const planColumns = <R>(
  columns: ReadonlyArray<Column<R>>,
  plan: RowPlan,
  bufferSize: number,
  failures: FailureLog
): ReadonlyArray<Column<R>> =>
  columns.map((column): Column<R> => {
    const name = column.name
    if (column.strategy === "cell") {
      const generate = plan._tag === "Rows"
        ? (input: CellInput) => {
          const row = plan.rows.datasetRow(input.row)
          return column.generate({
            ...input,
            row,
            rowGroup: Math.floor(row / bufferSize),
            rowIndex: row % bufferSize
          })
        }
        : column.generate
      return {
        ...column,
        generate: (input: CellInput) =>
          generate(input).pipe(
            Effect.tapError((error) => Effect.sync(() => failures.record(datasetRowOf(plan, input.row), name, error)))
          )
      }
    }
    const generate = plan._tag === "Rows"
      ? (input: BatchInput) => {
        const rows = input.rowIndexes.map((index) => plan.rows.datasetRow(input.firstRow + index))
        return column.generate({
          ...input,
          rowGroup: Math.floor((rows[0] ?? 0) / bufferSize),
          firstRow: 0,
          rowIndexes: rows
        })
      }
      : column.generate
    return {
      ...column,
      generate: (input: BatchInput) =>
        generate(input).pipe(Effect.tapError((error) =>
          Effect.sync(() => {
            for (const index of input.rowIndexes) {
              failures.record(datasetRowOf(plan, input.firstRow + index), name, error)
            }
          })
        ))
    }
  })
