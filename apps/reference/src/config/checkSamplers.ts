import { Schema, SchemaIssue } from "effect"
import { type ConfigIssue, formatPath } from "./ConfigError.js"
import { type ColumnConfig, ColumnConfig as ColumnConfigSchema } from "./schema.js"

/** A sampler's parameters per value of another column (`conditionalParams`), each a checked column config. */
export interface SamplerConditions {
  readonly on: string
  readonly cases: ReadonlyMap<string, ColumnConfig>
}

export interface SamplerCheck {
  readonly issues: ReadonlyArray<ConfigIssue>
  /** Columns the sampler reads: its parent, reference or `conditionalParams.on`. */
  readonly dependencies: ReadonlyArray<string>
  readonly conditions?: SamplerConditions
}

const formatIssues = SchemaIssue.makeFormatterStandardSchemaV1()
const encodeColumn = Schema.encodeSync(ColumnConfigSchema)
const decodeColumn = Schema.decodeUnknownResult(ColumnConfigSchema)

const referenceIssue = (
  path: string,
  name: string,
  self: string,
  known: ReadonlySet<string>
): ReadonlyArray<ConfigIssue> =>
  name === self
    ? [{ path, problem: `column "${self}" references itself` }]
    : known.has(name)
    ? []
    : [{ path, problem: `unknown column "${name}"` }]

/**
 * The checks of a sampler column that its schema cannot make: the columns it reads exist, a subcategory lists
 * values for every value of a `category` parent, a person's locale exists, and each `conditionalParams` case —
 * the sampler's parameters with the case's replacements — is itself a valid column.
 */
export const checkSampler = (
  column: ColumnConfig,
  index: number,
  known: ReadonlySet<string>,
  columns: ReadonlyArray<ColumnConfig>,
  /** Faker's locales, when the config has a person column (loaded for it). */
  personLocales: ReadonlyArray<string>
): SamplerCheck => {
  const at = `columns[${index}]`
  const issues: Array<ConfigIssue> = []
  const dependencies: Array<string> = []
  const read = (field: string, name: string) => {
    const found = referenceIssue(`${at}.${field}`, name, column.name, known)
    issues.push(...found)
    if (found.length === 0) dependencies.push(name)
  }
  switch (column.type) {
    case "subcategory": {
      read("category", column.category)
      const parent = columns.find((c) => c.name === column.category)
      if (parent?.type === "category") {
        const missing = parent.values.map(String).filter((value) => !(value in column.values))
        if (missing.length > 0) {
          issues.push({
            path: `${at}.values`,
            problem: `no values for ${missing.map((v) => JSON.stringify(v)).join(", ")} of column "${parent.name}"`
          })
        }
      }
      break
    }
    case "timedelta":
      read("reference", column.reference)
      break
    case "person":
      if (!personLocales.includes(column.locale)) {
        issues.push({
          path: `${at}.locale`,
          problem: `unknown locale "${column.locale}"; expected one of: ${personLocales.join(", ")}`
        })
      }
      break
  }
  const conditional = "conditionalParams" in column ? column.conditionalParams : undefined
  if (conditional === undefined) return { issues, dependencies }
  read("conditionalParams.on", conditional.on)
  const { conditionalParams: _, ...base } = encodeColumn(column) as Record<string, unknown>
  const cases = new Map<string, ColumnConfig>()
  for (const [value, params] of Object.entries(conditional.values)) {
    const where = `${at}.conditionalParams.values.${value}`
    const fixed = ["name", "type", "conditionalParams", "drop"].filter((key) => key in params)
    if (fixed.length > 0) {
      issues.push({ path: `${where}.${fixed[0]}`, problem: "only the sampler's parameters may depend on a value" })
      continue
    }
    const decoded = decodeColumn({ ...base, ...params }, { errors: "all", onExcessProperty: "error" })
    if (decoded._tag === "Failure") {
      for (const issue of formatIssues(decoded.failure.issue).issues) {
        const path = (issue.path ?? []).map((segment) => (typeof segment === "object" ? segment.key : segment))
        issues.push({ path: formatPath([where, ...path]), problem: issue.message })
      }
    } else {
      cases.set(value, decoded.success)
    }
  }
  return { issues, dependencies, conditions: { on: conditional.on, cases } }
}
