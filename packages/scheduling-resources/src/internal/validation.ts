import { Effect, Formatter, Result, type Schema, SchemaIssue, SchemaParser } from "effect"
import { ResourceValidationError } from "../ResourceValidationError.js"

const formatIssues = SchemaIssue.makeFormatterStandardSchemaV1()

const identifier = /^[A-Za-z_$][A-Za-z0-9_$]*$/

/**
 * `["key", "kind"]` → `key.kind`; `["request", "a/b"]` → `request["a/b"]`; `[]` → `root`.
 *
 * @internal
 */
export const formatField = (root: string, path: ReadonlyArray<PropertyKey>): string => {
  let field = ""
  for (const segment of path) {
    if (typeof segment === "number") field += `[${segment}]`
    else if (typeof segment === "symbol") field += `[${String(segment)}]`
    else if (identifier.test(segment)) field += field.length === 0 ? segment : `.${segment}`
    else field += `${field.length === 0 ? root : ""}[${JSON.stringify(segment)}]`
  }
  return field.length === 0 ? root : field
}

/** @internal */
export const formatValue = (value: unknown): string => Formatter.format(value)

const valueAt = (
  input: unknown,
  path: ReadonlyArray<PropertyKey>
): { readonly found: boolean; readonly value?: unknown } => {
  let current = input
  for (const segment of path) {
    if (typeof current !== "object" || current === null || !Object.hasOwn(current, segment)) {
      return { found: false }
    }
    current = (current as Record<PropertyKey, unknown>)[segment]
  }
  return { found: true, value: current }
}

/** @internal */
export const invalid = (field: string, message: string, value?: { readonly value: unknown }) =>
  new ResourceValidationError(value === undefined ? { field, message } : { field, message, value: value.value })

/**
 * Turns the first issue of a failed decode into a `ResourceValidationError` naming the field.
 *
 * @internal
 */
export const fromSchemaIssue = (
  issue: SchemaIssue.Issue,
  input: unknown,
  root: string
): ResourceValidationError => {
  const first = formatIssues(issue).issues[0]
  const path = (first?.path ?? []).map((segment) => typeof segment === "object" ? segment.key : segment)
  const at = valueAt(input, path)
  return invalid(formatField(root, path), first?.message ?? String(issue), at.found ? { value: at.value } : undefined)
}

const decodeOptions = { reportInput: true } as const

/**
 * Decodes `input` with `schema`, failing with a `ResourceValidationError` on the first issue.
 *
 * @internal
 */
export const decodeWith = <S extends Schema.ConstraintDecoder<unknown>>(schema: S, root: string) => {
  const decode = SchemaParser.decodeUnknownResult(schema, decodeOptions)
  return (input: unknown): Effect.Effect<S["Type"], ResourceValidationError> => {
    const result = decode(input)
    return Result.isSuccess(result)
      ? Effect.succeed(result.success)
      : Effect.fail(fromSchemaIssue(result.failure, input, root))
  }
}

/**
 * Synchronous form of {@link decodeWith} for loops that collect entries.
 *
 * @internal
 */
export const decodeResultWith = <S extends Schema.ConstraintDecoder<unknown>>(schema: S, root: string) => {
  const decode = SchemaParser.decodeUnknownResult(schema, decodeOptions)
  return (input: unknown, field: string = root): Result.Result<S["Type"], ResourceValidationError> => {
    const result = decode(input)
    return Result.isSuccess(result)
      ? Result.succeed(result.success)
      : Result.fail(fromSchemaIssue(result.failure, input, field))
  }
}
