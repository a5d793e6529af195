import { Schema } from "effect"
import { SluiceConfig } from "./schema.js"

export type JsonSchemaNode = { readonly [key: string]: unknown }

const isRecord = (u: unknown): u is JsonSchemaNode => typeof u === "object" && u !== null && !Array.isArray(u)

const isNullSchema = (u: unknown): boolean => isRecord(u) && u["type"] === "null" && Object.keys(u).length === 1

/**
 * The generated document describes the JSON codec, in which an optional key also accepts `null`; a config file
 * may not write `null` for an optional key (only where the field itself is nullable), so that extra branch goes.
 */
const withoutCodecNulls = (node: unknown): unknown => {
  if (Array.isArray(node)) return node.map(withoutCodecNulls)
  if (!isRecord(node)) return node
  const result: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(node)) {
    // An integer's safe-integer bounds are noise to a reader of the schema.
    if ((key === "maximum" || key === "minimum") && Math.abs(value as number) === Number.MAX_SAFE_INTEGER) continue
    result[key] = withoutCodecNulls(value)
  }
  const properties = result["properties"]
  if (isRecord(properties)) {
    const required = new Set(Array.isArray(result["required"]) ? result["required"] : [])
    const cleaned: Record<string, unknown> = {}
    for (const [name, property] of Object.entries(properties)) {
      cleaned[name] = required.has(name) ? property : dropOptionalNull(property)
    }
    result["properties"] = cleaned
  }
  return result
}

const dropOptionalNull = (property: unknown): unknown => {
  if (!isRecord(property) || !Array.isArray(property["anyOf"])) return property
  const branches = property["anyOf"] as ReadonlyArray<unknown>
  if (branches.length < 2 || !isNullSchema(branches[branches.length - 1])) return property
  const kept = branches.slice(0, -1)
  const { anyOf: _, ...annotations } = property
  if (kept.length > 1) return { ...annotations, anyOf: kept }
  const only = kept[0]
  return isRecord(only) ? { ...only, ...annotations } : property
}

/**
 * The config file's JSON Schema (draft 2020-12), generated from the Effect Schema: unknown keys are rejected
 * (`additionalProperties: false`), each field has its description, default and examples. Editors use it to
 * complete and check keys (`# yaml-language-server: $schema=…`); the strict-key check walks it too.
 */
export const configJsonSchema = (): JsonSchemaNode => {
  const document = Schema.toJsonSchemaDocument(SluiceConfig, { onExcessProperty: "error" })
  const definitions = document.definitions as Readonly<Record<string, unknown>>
  return withoutCodecNulls({
    $schema: "https://json-schema.org/draft/2020-12/schema",
    title: "Sluice config",
    description: "A sluice dataset: providers, models, columns and run settings.",
    ...document.schema,
    ...(Object.keys(definitions).length === 0 ? {} : { $defs: definitions })
  }) as JsonSchemaNode
}

/** `sluice schema`'s output, and the committed `sluice.schema.json`: two-space JSON and a final newline. */
export const configJsonSchemaText = (): string => JSON.stringify(configJsonSchema(), null, 2) + "\n"
