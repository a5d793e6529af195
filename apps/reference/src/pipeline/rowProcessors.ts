import type { RowProcessor } from "@sluice/scheduler"
import { Data, Effect } from "effect"
import type { ResolvedProcessor } from "../config/checkProcessors.js"
import { evaluateCondition } from "../templates/condition.js"

/** A processor's condition could not be evaluated against a row; the run stops (the scheduler names the processor). */
export class ProcessorConditionError
  extends Data.TaggedError("ProcessorConditionError")<{ readonly message: string }>
{}

/**
 * The scheduler's row processors for the configured ones. A `filter` drops the rows where its `when` is true; the
 * scheduler runs it at its stage and records its drops as `processor_dropped`.
 */
export const rowProcessors = (processors: ReadonlyArray<ResolvedProcessor>): ReadonlyArray<RowProcessor> =>
  processors.map(({ config, when }): RowProcessor => ({
    name: config.name,
    stage: config.stage,
    process: (input) =>
      Effect.suspend(() => {
        const drop: Array<number> = []
        for (let i = 0; i < input.rows.length; i++) {
          const verdict = evaluateCondition(when, input.rows[i]!)
          if (verdict._tag === "Failure") {
            return Effect.fail(
              new ProcessorConditionError({
                message: `when ${verdict.failure.message} (row ${input.firstRow + input.rowIndexes[i]!})`
              })
            )
          }
          if (verdict.success) drop.push(input.rowIndexes[i]!)
        }
        return Effect.succeed(drop)
      })
  }))
