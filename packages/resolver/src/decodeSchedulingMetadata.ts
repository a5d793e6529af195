import { Effect, Formatter, Result, Schema, SchemaIssue } from "effect"
import {
  CustomModelMetadata,
  LocalMetadata,
  ModelMetadata,
  type SchedulingMetadata,
  type SchedulingMetadataKind,
  schedulingMetadataKinds
} from "./SchedulingMetadata.js"
import { SchedulingMetadataError, type SchedulingMetadataErrorCode } from "./SchedulingMetadataError.js"

const formatIssues = SchemaIssue.makeFormatterStandardSchemaV1()

type Decoder = (input: unknown) => Result.Result<SchedulingMetadata, Schema.SchemaError>

const decoders: Readonly<Record<SchedulingMetadataKind, Decoder>> = {
  local: Schema.decodeUnknownResult(LocalMetadata),
  model: Schema.decodeUnknownResult(ModelMetadata),
  custom_model: Schema.decodeUnknownResult(CustomModelMetadata)
}

const isKind = (u: unknown): u is SchedulingMetadataKind =>
  typeof u === "string" && (schedulingMetadataKinds as ReadonlyArray<string>).includes(u)

// Each field maps to the error code a caller switches on; every other field is part of the identity.
const codeOfField = (field: string): SchedulingMetadataErrorCode =>
  field === "weight" ? "invalid_weight" : field === "domain" ? "unknown_generation_kind" : "invalid_identity"

const prefix = (generator: string | undefined): string =>
  generator === undefined ? "" : `Generator ${JSON.stringify(generator)}: `

const fail = (
  code: SchedulingMetadataErrorCode,
  field: string,
  message: string,
  generator: string | undefined
): SchedulingMetadataError =>
  new SchedulingMetadataError({
    code,
    field,
    message: `${prefix(generator)}${message}`,
    ...(generator === undefined ? {} : { generator })
  })

// Only an absent (undefined) field takes the default; `null` is an invalid value, reported as such.
const orDefault = (value: unknown, fallback: unknown): unknown => (value === undefined ? fallback : value)

// The constructors' defaults, applied to absent fields only, so decoding `{ kind: "local" }` gives
// the same value as `localMetadata()`. A model's weight has no default, as in `modelMetadata`.
const withDefaults = (kind: SchedulingMetadataKind, input: Record<string, unknown>): Record<string, unknown> => {
  switch (kind) {
    case "local":
      return { ...input, resource: orDefault(input["resource"], "default"), weight: orDefault(input["weight"], 1) }
    case "custom_model":
      return { ...input, weight: orDefault(input["weight"], 1) }
    case "model":
      return input
  }
}

const valueAt = (input: unknown, path: ReadonlyArray<string>): string => {
  let current = input
  for (const segment of path) {
    if (typeof current !== "object" || current === null || !Object.hasOwn(current, segment)) return "nothing"
    current = (current as Record<string, unknown>)[segment]
  }
  return Formatter.format(current)
}

/**
 * Validates untrusted scheduling metadata. Absent `local.resource`, `local.weight` and
 * `custom_model.weight` take the constructors' defaults. Failures name the field and carry a code:
 * `kind` → `invalid_kind`; `weight` (not a positive integer: booleans, NaN and fractions included)
 * → `invalid_weight`; `domain` (not a request domain) → `unknown_generation_kind`; any empty or
 * non-string identity part (`resource`, `provider`, `model`, `namespace`, `version`) → `invalid_identity`.
 *
 * @since 0.1.0
 */
export const decodeSchedulingMetadata = Effect.fnUntraced(function*(
  input: unknown,
  generator?: string
): Effect.fn.Return<SchedulingMetadata, SchedulingMetadataError> {
  if (typeof input !== "object" || input === null || Array.isArray(input)) {
    return yield* fail(
      "invalid_kind",
      "kind",
      `Expected scheduling metadata (an object with a kind), got ${Formatter.format(input)}`,
      generator
    )
  }
  const record = input as Record<string, unknown>
  const kind = record["kind"]
  if (!isKind(kind)) {
    return yield* fail(
      "invalid_kind",
      "kind",
      `Expected kind "local" | "model" | "custom_model", got ${Formatter.format(kind)}`,
      generator
    )
  }
  const decoded = decoders[kind](withDefaults(kind, record))
  if (Result.isSuccess(decoded)) return decoded.success
  const issue = formatIssues(decoded.failure.issue).issues[0]
  const path = (issue?.path ?? []).map((segment) => String(typeof segment === "object" ? segment.key : segment))
  const field = path.length === 0 ? "kind" : path.join(".")
  const top = path[0] ?? "kind"
  const value = valueAt(record, path)
  return yield* fail(codeOfField(top), field, `${field}: ${issue?.message ?? "invalid"}, got ${value}`, generator)
})
