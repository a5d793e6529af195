import { Effect, Schema } from "effect"
import { skipField } from "./conditionalSchema.js"

// The building blocks of the config schema: every field carries a description (and its default), from which
// `sluice schema` and the README's config reference are generated.

export const PositiveInt = Schema.Int.check(Schema.isGreaterThan(0))
export const NonNegativeNumber = Schema.Finite.check(Schema.isGreaterThanOrEqualTo(0))
export const PositiveNumber = Schema.Finite.check(Schema.isGreaterThan(0))
export const Name = Schema.NonEmptyString

export interface Docs {
  readonly description: string
  readonly examples?: ReadonlyArray<unknown>
}

export const annotationsOf = (docs: Docs) => ({
  description: docs.description,
  ...(docs.examples === undefined ? {} : { examples: docs.examples })
})

export const documented = <S extends Schema.Top>(schema: S, docs: Docs): S["Rebuild"] =>
  schema.annotate(annotationsOf(docs))

/** A field that may be left out: the value is filled in when the config is decoded (and shown in the schema). */
export const withDefault = <S extends Schema.Top>(schema: S, value: S["Encoded"], docs: Docs) =>
  // The annotations go on the inner schema: the JSON Schema generator keeps those (not the defaulting wrapper's).
  (schema.annotate({ ...annotationsOf(docs), default: value }) as unknown as S).pipe(
    Schema.withDecodingDefault(Effect.succeed(value))
  )

export const optional = <S extends Schema.Top>(schema: S, docs: Docs) => Schema.optional(documented(schema, docs))

export const column = <Type extends string, Fields extends Schema.Struct.Fields>(
  type: Type,
  description: string,
  fields: Fields
) =>
  Schema.Struct({
    name: documented(Name, { description: "The column's name (a key of every row).", examples: ["review"] }),
    type: documented(Schema.Literal(type), { description }),
    // Optional, not defaulted: a config without it keeps its hash and data identity.
    drop: optional(Schema.Boolean, {
      description: "Generate the column and let other columns use it, but leave it out of the written rows " +
        "(default `false`)."
    }),
    ...fields,
    skip: skipField
  })
