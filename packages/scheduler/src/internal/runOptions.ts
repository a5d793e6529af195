import { Effect, Schema, SchemaIssue } from "effect"
import { SchedulerConfigError } from "../errors.js"
import { SchedulerOptions } from "../SchedulerOptions.js"
import type { SchedulerSpec } from "../Spec.js"
import type { RunOptions } from "./runState.js"

const fieldOf = (path: ReadonlyArray<PropertyKey | { readonly key: PropertyKey }>): string =>
  path.reduce<string>((field, segment) => {
    const key = typeof segment === "object" ? segment.key : segment
    return typeof key === "number" ? `${field}[${key}]` : field === "" ? String(key) : `${field}.${String(key)}`
  }, "")

const formatIssues = SchemaIssue.makeFormatterStandardSchemaV1()

const invalid = (field: string, message: string) =>
  Effect.fail(new SchedulerConfigError({ field, reason: "invalid_value", message }))

const isPositiveInt = (u: unknown): u is number => typeof u === "number" && Number.isSafeInteger(u) && u >= 1

/** Decodes the options with their schema and checks the spec's sizes, naming the offending field. */
export const runOptionsOf = Effect.fnUntraced(function*<R>(
  spec: SchedulerSpec<R>,
  input: SchedulerOptions
): Effect.fn.Return<RunOptions, SchedulerConfigError> {
  const options = yield* Schema.decodeUnknownEffect(SchedulerOptions)(input).pipe(
    Effect.mapError((error) => {
      const issue = formatIssues(error.issue).issues[0]
      return new SchedulerConfigError({
        field: fieldOf(issue?.path ?? []) || "options",
        reason: "invalid_value",
        message: issue?.message ?? error.message
      })
    })
  )
  if (!isPositiveInt(spec.rows)) return yield* invalid("rows", `Expected a positive integer, got ${String(spec.rows)}`)
  if (!isPositiveInt(spec.bufferSize)) {
    return yield* invalid("bufferSize", `Expected a positive integer, got ${String(spec.bufferSize)}`)
  }
  if (spec.sink === undefined || typeof spec.sink.write !== "function") {
    return yield* invalid("sink.write", "Expected a checkpoint sink with a write function")
  }
  const resumed = new Set<number>()
  const rowGroupCount = Math.ceil(spec.rows / spec.bufferSize)
  let i = 0
  for (const id of options.resume?.completedRowGroups ?? []) {
    if (!Number.isInteger(id) || id < 0 || id >= rowGroupCount) {
      return yield* invalid(
        `resume.completedRowGroups[${i}]`,
        `Expected a row group id in [0, ${rowGroupCount - 1}], got ${String(id)}`
      )
    }
    resumed.add(id)
    i++
  }
  return { ...options, rows: spec.rows, bufferSize: spec.bufferSize, resumed }
})
