import { Schema } from "effect"
import type { Effect } from "effect"
import { encodeLabelPart } from "./internal/labelEncoding.js"
import { decodeWith } from "./internal/validation.js"
import { ResourceAmount } from "./ResourceAmount.js"
import type { ResourceValidationError } from "./ResourceValidationError.js"

/**
 * The kind of work a task group does: `local` (no model call), `model` (one provider/model),
 * `custom_model` (user code or several endpoints).
 *
 * @since 0.1.0
 */
export type TaskGroupKind = "local" | "model" | "custom_model"

/**
 * Schema of a {@link TaskGroupKind}.
 *
 * @since 0.1.0
 */
export const TaskGroupKind = Schema.Literals(["local", "model", "custom_model"])

/**
 * Every task group kind.
 *
 * @since 0.1.0
 */
export const taskGroupKinds: ReadonlyArray<TaskGroupKind> = ["local", "model", "custom_model"]

/**
 * A fair-queue group of tasks: the kind, the generator's scheduling identity (opaque to this
 * package) and its flow (the generator's output columns, see {@link taskGroupFlow}).
 *
 * @since 0.1.0
 */
export interface TaskGroupKey {
  readonly kind: TaskGroupKind
  readonly identity: string
  readonly flow: string
}

/**
 * Schema of a {@link TaskGroupKey}: a kind and non-empty identity and flow.
 *
 * @since 0.1.0
 */
export const TaskGroupKey = Schema.Struct({
  kind: TaskGroupKind,
  identity: Schema.NonEmptyString,
  flow: Schema.NonEmptyString
})

/**
 * Builds a {@link TaskGroupKey} without validation (identity and flow must be non-empty).
 *
 * @since 0.1.0
 */
export const taskGroupKey = (kind: TaskGroupKind, identity: string, flow: string): TaskGroupKey => ({
  kind,
  identity,
  flow
})

/**
 * Validates untrusted input as a {@link TaskGroupKey}.
 *
 * @since 0.1.0
 */
export const makeTaskGroupKey: (input: unknown) => Effect.Effect<TaskGroupKey, ResourceValidationError> = decodeWith(
  TaskGroupKey,
  "key"
)

/**
 * The label `kind:identity/flow`, used as a Map key. Identity and flow are escaped as in
 * `providerModelLabel` ("%" → "%25", "/" → "%2F"), and the kind never contains ":", so the label
 * is unambiguous: `model:openai%2Fgpt-4o%2Fchat/review`.
 *
 * @since 0.1.0
 */
export const taskGroupLabel = (key: TaskGroupKey): string =>
  `${key.kind}:${encodeLabelPart(key.identity)}/${encodeLabelPart(key.flow)}`

const encodeFlowColumn = (column: string): string =>
  column.includes("%") || column.includes(",") ? column.replaceAll("%", "%25").replaceAll(",", "%2C") : column

/**
 * The flow of a generator from its output columns, in order: the columns joined with ",", with
 * "%" written "%25" and "," written "%2C" inside each name, so different column lists give
 * different flows (`["a,b"]` → `a%2Cb`, `["a", "b"]` → `a,b`). The list must not be empty.
 *
 * @since 0.1.0
 */
export const taskGroupFlow = (columns: ReadonlyArray<string>): string => columns.map(encodeFlowColumn).join(",")

/**
 * A task group with its fair-share weight (a finite number ≥ 1) and, optionally, the most tasks
 * of the group that may be admitted at once (a positive integer; absent means no group cap).
 *
 * @since 0.1.0
 */
export interface TaskGroupSpec {
  readonly key: TaskGroupKey
  readonly weight: number
  readonly admittedLimit?: number
}

/**
 * Schema of a {@link TaskGroupSpec}.
 *
 * @since 0.1.0
 */
export const TaskGroupSpec = Schema.Struct({
  key: TaskGroupKey,
  weight: Schema.Finite.check(Schema.isGreaterThanOrEqualTo(1, { expected: "a weight of at least 1" })),
  admittedLimit: Schema.optionalKey(ResourceAmount)
})

const decodeTaskGroupSpec = decodeWith(TaskGroupSpec, "spec")

const withoutUndefinedAdmittedLimit = (input: unknown): unknown => {
  if (typeof input !== "object" || input === null || !Object.hasOwn(input, "admittedLimit")) return input
  const { admittedLimit, ...rest } = input as { readonly admittedLimit?: unknown }
  return admittedLimit === undefined ? rest : input
}

/**
 * Validates untrusted input as a {@link TaskGroupSpec}. `admittedLimit: undefined` is read as absent.
 * Failures name the field: `key.kind`, `key.identity`, `key.flow`, `weight`, `admittedLimit`.
 *
 * @since 0.1.0
 */
export const makeTaskGroupSpec = (input: unknown): Effect.Effect<TaskGroupSpec, ResourceValidationError> =>
  decodeTaskGroupSpec(withoutUndefinedAdmittedLimit(input))
