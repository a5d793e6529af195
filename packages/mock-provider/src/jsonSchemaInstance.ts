import { type Draws, drawInt, drawOne } from "./hash.js"

/**
 * Generates a deterministic instance of a JSON schema, so `llm-structured` columns get output that validates
 * against the schema they asked for. Covers what structured-output schemas use in practice: objects (every
 * declared property, so required ones are always present), arrays (minItems/maxItems, tuples, uniqueItems),
 * strings (enum, minLength/maxLength, common formats), integers and numbers (inclusive and exclusive bounds,
 * multipleOf), booleans, null, `const`, `enum`, `anyOf`/`oneOf` (first branch) and `allOf` (merged). `$ref` and
 * `pattern` are not interpreted.
 */
export const jsonSchemaInstance = (schema: unknown, draws: Draws): unknown => generate(schema, draws, 0)

type JsonSchema = { readonly [key: string]: unknown }

// Beyond this depth only required properties and minimum array lengths are generated, so recursive-looking
// schemas stay small.
const shallowDepth = 6
const hardDepth = 24

const words = [
  "amber",
  "brisk",
  "cedar",
  "delta",
  "ember",
  "fable",
  "grove",
  "harbor",
  "iris",
  "juniper",
  "kestrel",
  "lumen",
  "maple",
  "nimbus",
  "opal",
  "prairie",
  "quartz",
  "river",
  "summit",
  "tundra",
  "umber",
  "velvet",
  "willow",
  "zephyr"
] as const

const isRecord = (u: unknown): u is JsonSchema => typeof u === "object" && u !== null && !Array.isArray(u)
const numberOr = (u: unknown): number | undefined => typeof u === "number" && Number.isFinite(u) ? u : undefined

const generate = (schema: unknown, draws: Draws, depth: number): unknown => {
  if (schema === true || schema === undefined) return drawOne(draws, words)
  if (!isRecord(schema)) return null
  if ("const" in schema) return schema.const
  if (Array.isArray(schema.enum) && schema.enum.length > 0) return drawOne(draws, schema.enum)
  if (Array.isArray(schema.allOf) && schema.allOf.length > 0) {
    const { allOf, ...rest } = schema
    return generate(mergeAll([rest, ...allOf.filter(isRecord)]), draws, depth)
  }
  const branches = Array.isArray(schema.anyOf) ? schema.anyOf : Array.isArray(schema.oneOf) ? schema.oneOf : undefined
  if (branches !== undefined && branches.length > 0) {
    // The first non-null branch: `anyOf: [X, {type: null}]` is how nullable fields are written.
    const { anyOf: _anyOf, oneOf: _oneOf, ...rest } = schema
    const branch = branches.find((b) => !(isRecord(b) && b.type === "null")) ?? branches[0]
    return generate(isRecord(branch) ? mergeAll([rest, branch]) : branch, draws, depth)
  }
  switch (typeOf(schema)) {
    case "object":
      return objectOf(schema, draws, depth)
    case "array":
      return arrayOf(schema, draws, depth)
    case "integer":
      return integerOf(schema, draws)
    case "number":
      return numberOf(schema, draws)
    case "boolean":
      return draws.nextDoubleUnsafe() < 0.5
    case "null":
      return null
    default:
      return stringOf(schema, draws)
  }
}

const typeOf = (schema: JsonSchema): string => {
  const type = schema.type
  if (typeof type === "string") return type
  if (Array.isArray(type)) {
    const concrete = type.find((t) => t !== "null")
    return typeof concrete === "string" ? concrete : "null"
  }
  if (isRecord(schema.properties) || Array.isArray(schema.required)) return "object"
  if (schema.items !== undefined || schema.prefixItems !== undefined) return "array"
  if (schema.minimum !== undefined || schema.maximum !== undefined || schema.multipleOf !== undefined) return "number"
  return "string"
}

// allOf: properties and required lists are unioned; other keywords: the later schema wins.
const mergeAll = (schemas: ReadonlyArray<JsonSchema>): JsonSchema =>
  schemas.reduce<JsonSchema>((merged, next) => {
    const properties = {
      ...(isRecord(merged.properties) ? merged.properties : {}),
      ...(isRecord(next.properties) ? next.properties : {})
    }
    const required = [
      ...(Array.isArray(merged.required) ? merged.required : []),
      ...(Array.isArray(next.required) ? next.required : [])
    ]
    return {
      ...merged,
      ...next,
      ...(Object.keys(properties).length > 0 ? { properties } : {}),
      ...(required.length > 0 ? { required: [...new Set(required)] } : {})
    }
  }, {})

const objectOf = (schema: JsonSchema, draws: Draws, depth: number): Record<string, unknown> => {
  const properties = isRecord(schema.properties) ? schema.properties : {}
  const required = Array.isArray(schema.required)
    ? schema.required.filter((name): name is string => typeof name === "string")
    : []
  const names = depth >= shallowDepth ? required : [...new Set([...Object.keys(properties), ...required])]
  const result: Record<string, unknown> = {}
  for (const name of names) {
    if (depth >= hardDepth) {
      result[name] = null
      continue
    }
    // A required name without a declared schema gets whatever `additionalProperties` allows.
    const propertySchema = name in properties
      ? properties[name]
      : isRecord(schema.additionalProperties)
      ? schema.additionalProperties
      : true
    result[name] = generate(propertySchema, draws, depth + 1)
  }
  return result
}

const arrayOf = (schema: JsonSchema, draws: Draws, depth: number): Array<unknown> => {
  const tuple = Array.isArray(schema.prefixItems)
    ? schema.prefixItems
    : Array.isArray(schema.items)
    ? schema.items
    : []
  const itemSchema = Array.isArray(schema.items) ? schema.additionalItems ?? true : schema.items ?? true
  const minItems = Math.max(numberOr(schema.minItems) ?? 0, depth >= shallowDepth ? 0 : tuple.length)
  // `items: false` after a tuple (or `additionalItems: false`) closes the array at the tuple's length.
  const closed = tuple.length > 0 && itemSchema === false
  const maxItems = closed ? tuple.length : numberOr(schema.maxItems) ?? Math.max(minItems, 3)
  const count = depth >= shallowDepth
    ? minItems
    : drawInt(draws, Math.max(minItems, Math.min(1, maxItems)), Math.max(minItems, Math.min(maxItems, 3)))
  const unique = schema.uniqueItems === true
  const items: Array<unknown> = []
  const seen = new Set<string>()
  // uniqueItems: redraw a duplicate a few times; an enum with fewer values than minItems cannot do better.
  for (let attempt = 0; items.length < count && attempt < count * 8 + 8; attempt++) {
    const index = items.length
    const item = generate(index < tuple.length ? tuple[index] : itemSchema, draws, depth + 1)
    const key = JSON.stringify(item)
    if (unique && seen.has(key)) continue
    seen.add(key)
    items.push(item)
  }
  return items
}

interface Bounds {
  readonly low: number
  readonly high: number
  readonly lowExclusive: boolean
  readonly highExclusive: boolean
}

// Draft-04 writes exclusive bounds as booleans beside minimum/maximum; draft-06+ as numbers.
const boundsOf = (schema: JsonSchema, defaultSpan: number): Bounds => {
  const minimum = numberOr(schema.minimum)
  const maximum = numberOr(schema.maximum)
  const exclusiveMinimum = numberOr(schema.exclusiveMinimum)
  const exclusiveMaximum = numberOr(schema.exclusiveMaximum)
  let low = minimum ?? exclusiveMinimum
  let lowExclusive = minimum === undefined ? exclusiveMinimum !== undefined : schema.exclusiveMinimum === true
  if (minimum !== undefined && exclusiveMinimum !== undefined && exclusiveMinimum >= minimum) {
    low = exclusiveMinimum
    lowExclusive = true
  }
  let high = maximum ?? exclusiveMaximum
  let highExclusive = maximum === undefined ? exclusiveMaximum !== undefined : schema.exclusiveMaximum === true
  if (maximum !== undefined && exclusiveMaximum !== undefined && exclusiveMaximum <= maximum) {
    high = exclusiveMaximum
    highExclusive = true
  }
  if (low === undefined && high === undefined) {
    return { low: 0, high: defaultSpan, lowExclusive: false, highExclusive: false }
  }
  if (low === undefined) return { low: high! - defaultSpan, high: high!, lowExclusive: false, highExclusive }
  if (high === undefined) return { low, high: low + defaultSpan, lowExclusive, highExclusive: false }
  return { low, high, lowExclusive, highExclusive }
}

const integerOf = (schema: JsonSchema, draws: Draws): number => {
  const bounds = boundsOf(schema, 100)
  const step = numberOr(schema.multipleOf)
  const unit = step !== undefined && Number.isInteger(step) && step > 0 ? step : 1
  let low = Math.ceil(bounds.low / unit)
  let high = Math.floor(bounds.high / unit)
  if (bounds.lowExclusive && low * unit <= bounds.low) low++
  if (bounds.highExclusive && high * unit >= bounds.high) high--
  return (high < low ? low : drawInt(draws, low, high)) * unit
}

const numberOf = (schema: JsonSchema, draws: Draws): number => {
  const bounds = boundsOf(schema, 100)
  const step = numberOr(schema.multipleOf)
  if (step !== undefined && step > 0) {
    let low = Math.ceil(bounds.low / step)
    let high = Math.floor(bounds.high / step)
    if (bounds.lowExclusive && low * step <= bounds.low) low++
    if (bounds.highExclusive && high * step >= bounds.high) high--
    const decimals = (String(step).split(".")[1] ?? "").length
    const valueAt = (k: number) => Number((k * step).toFixed(decimals))
    if (high < low) return valueAt(low)
    // Validators test `value / step` for an integer in floating point (Ajv: 0.3 / 0.05 = 5.999…, rejected), so
    // walk from a drawn multiple to the first one whose quotient is exact.
    const start = drawInt(draws, low, high)
    const span = high - low + 1
    for (let i = 0; i < Math.min(span, 1000); i++) {
      const value = valueAt(low + ((start - low + i) % span))
      if (Number.isInteger(value / step)) return value
    }
    return valueAt(start)
  }
  const value = Math.round((bounds.low + (bounds.high - bounds.low) * draws.nextDoubleUnsafe()) * 100) / 100
  const tooLow = bounds.lowExclusive ? value <= bounds.low : value < bounds.low
  const tooHigh = bounds.highExclusive ? value >= bounds.high : value > bounds.high
  return tooLow || tooHigh ? (bounds.low + bounds.high) / 2 : value
}

const stringOf = (schema: JsonSchema, draws: Draws): string => {
  const formatted = formatted_(schema.format, draws)
  const minLength = numberOr(schema.minLength) ?? 0
  const maxLength = numberOr(schema.maxLength)
  if (
    formatted !== undefined && formatted.length >= minLength &&
    (maxLength === undefined || formatted.length <= maxLength)
  ) {
    return formatted
  }
  const target = drawInt(
    draws,
    Math.max(minLength, Math.min(8, maxLength ?? 8)),
    Math.max(minLength, Math.min(maxLength ?? 32, 32))
  )
  let text = drawOne(draws, words)
  while (text.length < target) text += ` ${drawOne(draws, words)}`
  return text.slice(0, Math.max(target, minLength)).trimEnd().padEnd(minLength, "x")
}

const pad = (n: number, width: number) => String(n).padStart(width, "0")

const formatted_ = (format: unknown, draws: Draws): string | undefined => {
  switch (format) {
    case "date-time":
      return `2025-${pad(drawInt(draws, 1, 12), 2)}-${pad(drawInt(draws, 1, 28), 2)}T${pad(drawInt(draws, 0, 23), 2)}:${
        pad(drawInt(draws, 0, 59), 2)
      }:00Z`
    case "date":
      return `2025-${pad(drawInt(draws, 1, 12), 2)}-${pad(drawInt(draws, 1, 28), 2)}`
    case "time":
      return `${pad(drawInt(draws, 0, 23), 2)}:${pad(drawInt(draws, 0, 59), 2)}:00Z`
    case "email":
      return `${drawOne(draws, words)}@example.com`
    case "uri":
    case "url":
      return `https://example.com/${drawOne(draws, words)}`
    case "uuid": {
      const hex = () => drawInt(draws, 0, 0xffff).toString(16).padStart(4, "0")
      return `${hex()}${hex()}-${hex()}-4${hex().slice(1)}-a${hex().slice(1)}-${hex()}${hex()}${hex()}`
    }
    default:
      return undefined
  }
}
