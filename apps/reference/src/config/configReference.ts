import { configJsonSchema, type JsonSchemaNode } from "./configJsonSchema.js"

// The README's config reference, generated from the config's JSON Schema (itself generated from the Effect
// Schema), so it lists every key with its type, default and description, and cannot drift from the code.

const isRecord = (u: unknown): u is JsonSchemaNode => typeof u === "object" && u !== null && !Array.isArray(u)

const branchesOf = (node: JsonSchemaNode): ReadonlyArray<JsonSchemaNode> | undefined => {
  const branches = node["anyOf"] ?? node["oneOf"]
  return Array.isArray(branches) ? branches.filter(isRecord) : undefined
}

const code = (value: unknown) => `\`${JSON.stringify(value)}\``

const typeOf = (node: JsonSchemaNode): string => {
  const branches = branchesOf(node)
  if (branches !== undefined) return [...new Set(branches.map(typeOf))].join(" | ")
  if (Array.isArray(node["enum"])) return node["enum"].map(code).join(" | ")
  const type = node["type"]
  if (type === "array") return `list of ${isRecord(node["items"]) ? typeOf(node["items"]) : "values"}`
  if (type === "object") {
    if (isRecord(node["properties"])) return "object"
    return isRecord(node["additionalProperties"])
      ? `map of ${typeOf(node["additionalProperties"])}`
      : "object (any keys)"
  }
  return typeof type === "string" ? type : "any"
}

const cell = (text: string) => text.replace(/\|/g, "\\|").replace(/\n/g, " ")

interface Section {
  readonly title: string
  readonly rows: Array<string>
}

const objectBranch = (node: JsonSchemaNode): JsonSchemaNode | undefined => {
  if (isRecord(node["properties"])) return node
  const branches = branchesOf(node)
  const objects = branches?.filter((b) => isRecord(b["properties"])) ?? []
  return objects.length === 1 ? objects[0] : undefined
}

const discriminated = (node: JsonSchemaNode): ReadonlyArray<JsonSchemaNode> | undefined => {
  const objects = branchesOf(node)?.filter((b) => isRecord(b["properties"])) ?? []
  return objects.length > 1 ? objects : undefined
}

const typeName = (branch: JsonSchemaNode): string => {
  const type = (branch["properties"] as JsonSchemaNode)["type"]
  return isRecord(type) && Array.isArray(type["enum"]) ? String(type["enum"][0]) : "?"
}

/** One section per object in the schema (nested objects, list items, one per `type` of a union), in order. */
const collect = (node: JsonSchemaNode, path: string, title: string, sections: Array<Section>): void => {
  // Fields shared by several types (a provider's `unreachableAfter`) are listed once.
  if (sections.some((section) => section.title === title)) return
  const properties = node["properties"] as JsonSchemaNode
  const required = new Set(Array.isArray(node["required"]) ? node["required"] : [])
  const section: Section = { title, rows: [] }
  sections.push(section)
  const nested: Array<() => void> = []
  for (const [key, value] of Object.entries(properties)) {
    if (!isRecord(value)) continue
    const keyPath = path === "" ? key : `${path}.${key}`
    const fallback = "default" in value ? code(value["default"]) : required.has(key) ? "required" : "optional"
    const examples = Array.isArray(value["examples"]) && value["examples"].length > 0
      ? ` Example: ${code(value["examples"][0])}.`
      : ""
    const description = typeof value["description"] === "string" ? value["description"] : ""
    section.rows.push(
      `| \`${keyPath}\` | ${cell(typeOf(value))} | ${cell(fallback)} | ${cell(`${description}${examples}`.trim())} |`
    )
    const items = value["type"] === "array" && isRecord(value["items"]) ? value["items"] : undefined
    const inner = items ?? value
    const innerPath = items === undefined ? keyPath : `${keyPath}[]`
    const variants = discriminated(inner)
    if (variants !== undefined) {
      for (const variant of variants) {
        nested.push(() => collect(variant, innerPath, `\`${innerPath}\` with \`type: ${typeName(variant)}\``, sections))
      }
      continue
    }
    const object = objectBranch(inner)
    if (object !== undefined) nested.push(() => collect(object, innerPath, `\`${innerPath}\``, sections))
  }
  for (const next of nested) next()
}

/** The config reference as Markdown: one table per object, every key with its type, default and description. */
export const configReference = (): string => {
  const sections: Array<Section> = []
  collect(configJsonSchema(), "", "Top level", sections)
  return sections
    .filter((section) => section.rows.length > 0)
    .map((section) =>
      [
        `#### ${section.title}`,
        "",
        "| key | type | default | description |",
        "| --- | --- | --- | --- |",
        ...section.rows
      ].join("\n")
    )
    .join("\n\n") + "\n"
}
