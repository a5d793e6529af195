import { Option, Schema } from "effect"
import type { Brand, Effect } from "effect"
import { decodeWith } from "./internal/validation.js"
import type { ResourceValidationError } from "./ResourceValidationError.js"

/**
 * How a task covers its column: `from_scratch` (a root full column, once per row group), `cell`
 * (one row), `batch` (a non-root full column, once per row group).
 *
 * @since 0.1.0
 */
export type TaskType = "from_scratch" | "cell" | "batch"

/**
 * Schema of a {@link TaskType}.
 *
 * @since 0.1.0
 */
export const TaskType = Schema.Literals(["from_scratch", "cell", "batch"])

/**
 * Every task type.
 *
 * @since 0.1.0
 */
export const taskTypes: ReadonlyArray<TaskType> = ["from_scratch", "cell", "batch"]

/**
 * One unit of scheduled work: a column, a row group, a row inside it (`null` for whole-row-group
 * tasks) and a task type. Two refs are the same task when all four fields are equal (`===`).
 *
 * @since 0.1.0
 */
export interface TaskRef {
  readonly column: string
  readonly rowGroup: number
  readonly rowIndex: number | null
  readonly type: TaskType
}

const Index = Schema.Int.check(Schema.isGreaterThanOrEqualTo(0, { expected: "a non-negative integer" }))

/**
 * Schema of a {@link TaskRef}: a non-empty column, non-negative integer row group and row index,
 * and a row index that is present exactly for `cell` tasks.
 *
 * @since 0.1.0
 */
export const TaskRef = Schema.Struct({
  column: Schema.NonEmptyString,
  rowGroup: Index,
  rowIndex: Schema.NullOr(Index),
  type: TaskType
}).check(
  Schema.makeFilter((ref) =>
    (ref.type === "cell") === (ref.rowIndex !== null) ? undefined : {
      path: ["rowIndex"],
      issue: ref.type === "cell"
        ? "Expected a row index for a cell task, got null"
        : `Expected null for a ${ref.type} task, got ${ref.rowIndex}`
    }
  )
)

/**
 * Validates untrusted input as a {@link TaskRef}; failures name `column`, `rowGroup`, `rowIndex` or `type`.
 *
 * @since 0.1.0
 */
export const makeTaskRef: (input: unknown) => Effect.Effect<TaskRef, ResourceValidationError> = decodeWith(
  TaskRef,
  "task"
)

/**
 * The stable id of a task, a branded string usable as a Map key.
 *
 * Format: `{type}:{rowGroup}:{rowIndex or "-"}:{column}`, e.g. `cell:3:17:review` or
 * `batch:3:-:summary`. The column comes last and verbatim, so no escaping is needed: the type
 * never contains ":", and the two numbers are written by `String(n)`, which never contains ":"
 * and never equals "-", so the first three ":" always split the id back into the same fields.
 *
 * @since 0.1.0
 */
export type TaskId = string & Brand.Brand<"TaskId">

/**
 * The id of a task: deterministic, pure, one string concatenation, and injective — two refs get
 * the same id only if their four fields are equal (for numbers, `String` is injective except that
 * `0` and `-0`, which are `===`, both print `0`). No validation: build refs with {@link makeTaskRef}
 * when they come from outside.
 *
 * @since 0.1.0
 */
export const taskId = (task: TaskRef): TaskId =>
  `${task.type}:${task.rowGroup}:${task.rowIndex === null ? "-" : task.rowIndex}:${task.column}` as TaskId

const decodeTaskRefOption = Schema.decodeUnknownOption(TaskRef)

const parseIndex = (text: string): number | undefined => {
  const n = Number(text)
  return text.length > 0 && String(n) === text ? n : undefined
}

/**
 * Inverse of {@link taskId}: the task of an id, or `None` if `id` is not the id of a valid
 * {@link TaskRef} in canonical form.
 *
 * @since 0.1.0
 */
export const parseTaskId = (id: string): Option.Option<TaskRef> => {
  const first = id.indexOf(":")
  const second = first < 0 ? -1 : id.indexOf(":", first + 1)
  const third = second < 0 ? -1 : id.indexOf(":", second + 1)
  if (third < 0) return Option.none()
  const rowIndexText = id.slice(second + 1, third)
  const rowGroup = parseIndex(id.slice(first + 1, second))
  const rowIndex = rowIndexText === "-" ? null : parseIndex(rowIndexText)
  if (rowGroup === undefined || rowIndex === undefined) return Option.none()
  return decodeTaskRefOption({ column: id.slice(third + 1), rowGroup, rowIndex, type: id.slice(0, first) })
}

/**
 * Schema of a {@link TaskId}: a string that {@link parseTaskId} accepts.
 *
 * @since 0.1.0
 */
export const TaskId = Schema.String.check(
  Schema.makeFilter<string>((id) => Option.isSome(parseTaskId(id)), {
    expected: "a task id \"{type}:{rowGroup}:{rowIndex or -}:{column}\""
  })
).pipe(Schema.brand("TaskId"))
