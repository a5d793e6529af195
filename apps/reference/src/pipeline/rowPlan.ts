import type { BatchInput, CellInput, Column } from "@sluice/scheduler"
import { Effect } from "effect"
import type { DatasetState } from "../output/DatasetState.js"
import type { FailureLog } from "./dropCauses.js"

/**
 * The rows a run generates. Most runs generate whole row groups — every group of a new dataset, or the groups a
 * resumed one has not published — and the scheduler runs the dataset's own groups (`skip` lists the published
 * ones). `--retry-dropped` regenerates single rows of published groups: then the scheduler runs a dataset of just
 * those rows (and any unpublished groups' rows), packed into groups of `bufferSize`, and every generator sees
 * each row under its dataset index, so samplers, templates and prompts produce what they would have in place.
 */
export type RowPlan =
  | { readonly _tag: "Groups"; readonly rows: number; readonly skip: ReadonlySet<number> }
  | { readonly _tag: "Rows"; readonly rows: ReadonlyArray<number> }

/** The plan for a dataset in `state`, or undefined when there is nothing to generate. */
export const planRows = (state: DatasetState, retryDropped: boolean): RowPlan | undefined => {
  const unpublished = state.unpublishedGroups()
  const retried = retryDropped ? state.droppedRows() : []
  if (retried.length === 0) {
    if (unpublished.length === 0) return undefined
    return { _tag: "Groups", rows: state.rowsRequested, skip: new Set(state.published.keys()) }
  }
  const rows: Array<number> = [...retried]
  for (const group of unpublished) {
    const first = group * state.bufferSize
    for (let i = 0; i < state.groupSize(group); i++) rows.push(first + i)
  }
  return { _tag: "Rows", rows: rows.sort((a, b) => a - b) }
}

/** Rows the scheduler runs for this plan. */
export const plannedRowCount = (plan: RowPlan, state: DatasetState): number =>
  plan._tag === "Rows"
    ? plan.rows.length
    : plan.rows - [...plan.skip].reduce((sum, group) => sum + state.groupSize(group), 0)

/** The dataset row of the scheduler's row `row`. */
export const datasetRowOf = (plan: RowPlan, row: number): number => plan._tag === "Rows" ? plan.rows[row]! : row

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
          const row = plan.rows[input.row]!
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
        const rows = input.rowIndexes.map((index) => plan.rows[input.firstRow + index]!)
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
