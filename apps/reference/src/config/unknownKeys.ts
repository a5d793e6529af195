import type { ConfigIssue } from "./ConfigError.js"
import type { JsonSchemaNode } from "./configJsonSchema.js"

const isRecord = (u: unknown): u is Readonly<Record<string, unknown>> =>
  typeof u === "object" && u !== null && !Array.isArray(u)

/** `max_parallel_requests` → `maxParallelRequests`, `top-p` → `topP`. */
const camelCase = (key: string): string => key.replace(/[_-]+([A-Za-z0-9])/g, (_, c: string) => c.toUpperCase())

// Names a NeMo Data Designer config (or an OpenAI request) uses for what Sluice calls otherwise. Looked up by the
// key's camelCase form; the first one known where the key was written is suggested.
const otherNames: Readonly<Record<string, ReadonlyArray<string>>> = {
  systemPrompt: ["system"],
  modelAlias: ["model", "alias"],
  modelName: ["model"],
  promptTemplate: ["prompt"],
  numRecords: ["rows"],
  maxConcurrency: ["maxParallelRequests"],
  outputFormat: ["schema"],
  jsonSchema: ["schema"],
  apiKey: ["apiKeyEnv"],
  endpoint: ["baseUrl"],
  inferenceParameters: [],
  columnType: ["type"]
}

const explanations: Readonly<Record<string, string>> = {
  inferenceParameters: "Sluice takes inference parameters directly on the model: temperature, topP, maxTokens, " +
    "maxCompletionTokens, seed, stop, timeoutSeconds, extraBody, extraHeaders",
  apiKey: "the key itself never goes in the config: name the environment variable that holds it with `apiKeyEnv`"
}

const editDistance = (a: string, b: string): number => {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j)
  for (let i = 1; i <= a.length; i++) {
    const current = [i]
    for (let j = 1; j <= b.length; j++) {
      const substitution = previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1)
      current.push(Math.min(previous[j]! + 1, current[j - 1]! + 1, substitution))
    }
    previous = current
  }
  return previous[b.length]!
}

/** The known key a typo or a snake_case / Data Designer name most likely meant, if one is close enough. */
export const closestKey = (key: string, known: ReadonlyArray<string>): string | undefined => {
  const camel = camelCase(key)
  if (known.includes(camel)) return camel
  const renamed = otherNames[camel]?.find((name) => known.includes(name))
  if (renamed !== undefined) return renamed
  let best: string | undefined
  let bestDistance = Infinity
  for (const candidate of known) {
    const distance = editDistance(camel.toLowerCase(), candidate.toLowerCase())
    if (distance < bestDistance) {
      best = candidate
      bestDistance = distance
    }
  }
  // One edit per four characters, at least two: catches `maxParalelRequests`, `capacty`, `promt`, `rowz`.
  return bestDistance <= Math.max(2, Math.floor(camel.length / 4)) ? best : undefined
}

const unknownKeyProblem = (key: string, known: ReadonlyArray<string>): string => {
  const explanation = explanations[camelCase(key)]
  const suggestion = closestKey(key, known)
  const hint = suggestion !== undefined
    ? ` — did you mean \`${suggestion}\`?`
    : `; expected one of: ${known.join(", ")}`
  return `unknown key${hint}${explanation === undefined ? "" : ` (${explanation})`}`
}

const childPath = (path: string, key: string) => (path === "" ? key : `${path}.${key}`)

// The branch of a union that describes this value: the object branch whose `type` matches (providers, columns),
// or the only branch of the value's JSON type. Unknown `type`s are reported elsewhere.
const branchFor = (branches: ReadonlyArray<unknown>, value: unknown): JsonSchemaNode | undefined => {
  const wanted = Array.isArray(value) ? "array" : isRecord(value) ? "object" : undefined
  if (wanted === undefined) return undefined
  const candidates = branches.filter((b): b is JsonSchemaNode => isRecord(b) && b["type"] === wanted)
  if (candidates.length <= 1 || wanted === "array") return candidates[0]
  const type = isRecord(value) ? value["type"] : undefined
  return candidates.find((branch) => {
    const properties = branch["properties"]
    const typeSchema = isRecord(properties) ? properties["type"] : undefined
    return isRecord(typeSchema) && Array.isArray(typeSchema["enum"]) && typeSchema["enum"].includes(type)
  })
}

/**
 * Every key of `value` that the schema does not know, with its path and the key it most likely meant. A typo
 * must not pass silently: an unknown key would otherwise be ignored, and its field would take its default.
 */
export const unknownKeyIssues = (schema: JsonSchemaNode, value: unknown, path = ""): ReadonlyArray<ConfigIssue> => {
  const branches = schema["anyOf"] ?? schema["oneOf"]
  if (Array.isArray(branches)) {
    const branch = branchFor(branches, value)
    return branch === undefined ? [] : unknownKeyIssues(branch, value, path)
  }
  if (Array.isArray(value) && isRecord(schema["items"])) {
    const items = schema["items"]
    return value.flatMap((item, index) => unknownKeyIssues(items, item, `${path}[${index}]`))
  }
  const properties = schema["properties"]
  if (!isRecord(value) || !isRecord(properties)) return []
  const known = Object.keys(properties)
  return Object.entries(value).flatMap(([key, field]): ReadonlyArray<ConfigIssue> => {
    const fieldSchema = properties[key]
    if (isRecord(fieldSchema)) return unknownKeyIssues(fieldSchema, field, childPath(path, key))
    if (schema["additionalProperties"] !== false) return []
    return [{ path: childPath(path, key), problem: unknownKeyProblem(key, known) }]
  })
}
