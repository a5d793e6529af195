import type { FullColumn, RowValues } from "@sluice/scheduler"
import type { SchedulingMetadata } from "@sluice/resolver"
import { Effect } from "effect"
import type { SeedSampling } from "../config/seedSchema.js"
import { seedRowPicker } from "./seedSampling.js"
import type { SeedTable } from "./SeedTable.js"

export interface SeedSource {
  readonly table: SeedTable
  readonly sampling: SeedSampling
  readonly seed: number
}

/**
 * The seed table as one full-column generator per row group: every dataset row gets the columns of the seed row
 * the sampling picks for it (a missing value in a JSONL row is `null`).
 */
export const seedColumn = <R>(
  name: string,
  source: SeedSource,
  scheduling: SchedulingMetadata | undefined
): FullColumn<R> => {
  const { table } = source
  const pick = seedRowPicker(source.sampling, source.seed, table.rows.length)
  const valuesOf = (row: number): RowValues => {
    const seedRow = table.rows[pick(row)]!
    const values: Record<string, unknown> = {}
    for (const column of table.columns) values[column] = seedRow[column] ?? null
    return values
  }
  return {
    name,
    strategy: "full",
    outputs: table.columns,
    ...(scheduling === undefined ? {} : { scheduling }),
    generate: (input) => Effect.sync(() => input.rowIndexes.map((index) => valuesOf(input.firstRow + index)))
  }
}
