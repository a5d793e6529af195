import { localMetadata, type ResolvedScheduling, resolveScheduling } from "@sluice/resolver"
import { Effect } from "effect"
import { SchedulerConfigError } from "./errors.js"
import type { Column } from "./Spec.js"

/**
 * Resolves the scheduling of columns that carry their own `scheduling` metadata (default `localMetadata()`), with
 * `@sluice/resolver`'s `resolveScheduling` — the same resolution an app does once and passes as the spec's
 * `scheduling`. `makeScheduler` calls it when the spec has none. Failures name the column's field
 * (`columns[0].scheduling.weight`).
 *
 * @since 0.1.0
 */
export const resolveColumnScheduling = Effect.fnUntraced(function*<R>(
  columns: ReadonlyArray<Column<R>>,
  limits: { readonly maxInFlightTasks?: number | undefined; readonly maxModelTaskAdmission?: number | undefined } = {}
): Effect.fn.Return<ResolvedScheduling, SchedulerConfigError> {
  return yield* resolveScheduling(
    columns.map((column) => ({
      generator: column.name,
      outputColumns: column.outputs ?? [column.name],
      metadata: column.scheduling ?? localMetadata()
    })),
    limits
  ).pipe(
    Effect.mapError((error) => {
      const index = error.generator === undefined ? -1 : columns.findIndex((c) => c.name === error.generator)
      return new SchedulerConfigError({
        field: index < 0 ? error.field : `columns[${index}].scheduling.${error.field}`,
        reason: "invalid_value",
        message: error.message
      })
    })
  )
})
