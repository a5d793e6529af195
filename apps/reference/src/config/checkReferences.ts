import { compileOutputSchema, type OutputSchema, outputSchemaOf } from "../columns/jsonSchemas.js"
import { conditionSource } from "../templates/condition.js"
import { compileTemplate, type CompiledTemplate } from "../templates/Template.js"
import type { SeedSource } from "../seed/seedColumn.js"
import type { SeedTable } from "../seed/SeedTable.js"
import { checkSampler, type SamplerConditions } from "./checkSamplers.js"
import type { ConfigIssue } from "./ConfigError.js"
import type { ColumnConfig, ModelConfig, OnTruncated, ProviderConfig, SluiceConfig } from "./schema.js"

/** The seed table as one generator: it writes every column of the table (its `outputs`). */
export interface SeedColumnConfig {
  readonly name: string
  readonly type: "seed"
  readonly drop?: boolean
  readonly source: SeedSource
}

/** The generator name of the seed table's columns (`sluice validate` shows it). */
export const seedGeneratorName = "seed-dataset"

/** A column with everything the run needs resolved: its templates, dependencies, model and provider. */
export interface ResolvedColumn {
  /** The column's index in `columns` (-1 for the seed table). */
  readonly index: number
  readonly config: ColumnConfig | SeedColumnConfig
  /** Columns this one reads, from its template references; sorted. */
  readonly dependencies: ReadonlyArray<string>
  readonly templates: Readonly<Record<string, CompiledTemplate>>
  readonly model?: ModelConfig
  readonly provider?: ProviderConfig
  /** The JSON schema the column's model output must match (llm-structured, llm-judge). */
  readonly outputSchema?: OutputSchema
  /** LLM columns: what a truncated answer does (the column's `onTruncated`, else its model's). */
  readonly onTruncated?: OnTruncated
  /** A sampler's parameters per value of another column (`conditionalParams`). */
  readonly conditions?: SamplerConditions
  /** The row fields the column writes: its name, and `<name>__truncated` when it keeps truncated answers. */
  readonly outputs: ReadonlyArray<string>
}

/** The flag column an LLM column with `onTruncated: keep` writes next to its value. */
export const truncatedFlagColumn = (column: string): string => `${column}__truncated`

/** The row fields written to the output, in order: every column's outputs except those of `drop: true` columns. */
export const writtenColumns = (columns: ReadonlyArray<ResolvedColumn>): ReadonlyArray<string> =>
  columns.flatMap((column) => (column.config.drop === true ? [] : column.outputs))

/** The template field holding a column's compiled `skip.when` condition. */
export const skipWhenField = "skip.when"

// A column's templates, by field; its `skip.when` condition is one too (its references are dependencies).
const templateFields = (column: ColumnConfig): ReadonlyArray<readonly [string, string]> => [
  ...ownTemplateFields(column),
  ...(column.skip === undefined ? [] : [[skipWhenField, conditionSource(column.skip.when)] as const])
]

const ownTemplateFields = (column: ColumnConfig): ReadonlyArray<readonly [string, string]> => {
  switch (column.type) {
    case "template":
      return [["template", column.template]]
    case "llm-text":
    case "llm-structured":
    case "llm-judge":
      return [["prompt", column.prompt], ...(column.system === undefined ? [] : [["system", column.system] as const])]
    default:
      return []
  }
}

const duplicates = <A>(items: ReadonlyArray<A>, key: (a: A) => string): ReadonlyArray<readonly [number, string]> => {
  const seen = new Set<string>()
  const found: Array<readonly [number, string]> = []
  items.forEach((item, index) => {
    const name = key(item)
    if (seen.has(name)) found.push([index, name])
    seen.add(name)
  })
  return found
}

/**
 * The checks a schema cannot make: names are unique, every reference (provider, model alias, template column)
 * exists, templates parse, and the columns form no cycle. Every issue names its path.
 */
export const checkReferences = (
  config: SluiceConfig,
  seed?: SeedTable,
  personLocales: ReadonlyArray<string> = []
): {
  readonly issues: ReadonlyArray<ConfigIssue>
  readonly columns: ReadonlyArray<ResolvedColumn>
} => {
  const issues: Array<ConfigIssue> = []
  for (const [index, name] of duplicates(config.providers, (p) => p.name)) {
    issues.push({ path: `providers[${index}].name`, problem: `duplicate provider "${name}"` })
  }
  for (const [index, alias] of duplicates(config.models, (m) => m.alias)) {
    issues.push({ path: `models[${index}].alias`, problem: `duplicate model alias "${alias}"` })
  }
  for (const [index, name] of duplicates(config.columns, (c) => c.name)) {
    issues.push({ path: `columns[${index}].name`, problem: `duplicate column "${name}"` })
  }
  const providers = new Map(config.providers.map((p) => [p.name, p]))
  const models = new Map(config.models.map((m) => [m.alias, m]))
  const seedColumns = seed?.columns ?? []
  const columnNames = new Set([...config.columns.map((c) => c.name), ...seedColumns])
  const seedNames = new Set(seedColumns)
  config.columns.forEach((column, index) => {
    if (seedNames.has(column.name)) {
      issues.push({
        path: `columns[${index}].name`,
        problem: `"${column.name}" is already a column of the seed table (seed.path); rename one of them`
      })
    } else if (seedColumns.length > 0 && column.name === seedGeneratorName) {
      issues.push({ path: `columns[${index}].name`, problem: `"${seedGeneratorName}" is reserved with a seed table` })
    }
  })

  config.models.forEach((model, index) => {
    if (!providers.has(model.provider)) {
      issues.push({ path: `models[${index}].provider`, problem: `unknown provider "${model.provider}"` })
    }
  })

  const columns: Array<ResolvedColumn> = config.columns.map((column, index): ResolvedColumn => {
    const templates: Record<string, CompiledTemplate> = {}
    const dependencies = new Set<string>()
    for (const [field, source] of templateFields(column)) {
      const compiled = compileTemplate(source)
      if (compiled._tag === "Failure") {
        issues.push({ path: `columns[${index}].${field}`, problem: compiled.failure.message })
        continue
      }
      templates[field] = compiled.success
      for (const reference of compiled.success.references) {
        if (reference === column.name) {
          issues.push({ path: `columns[${index}].${field}`, problem: `column "${column.name}" references itself` })
        } else if (!columnNames.has(reference)) {
          issues.push({ path: `columns[${index}].${field}`, problem: `unknown column "${reference}" in template` })
        } else {
          dependencies.add(reference)
        }
      }
    }
    const sampler = checkSampler(column, index, columnNames, config.columns, personLocales)
    issues.push(...sampler.issues)
    for (const name of sampler.dependencies) dependencies.add(name)
    const model = "model" in column ? models.get(column.model) : undefined
    if ("model" in column && model === undefined) {
      issues.push({ path: `columns[${index}].model`, problem: `unknown model alias "${column.model}"` })
    }
    const provider = model === undefined ? undefined : providers.get(model.provider)
    const schema = "model" in column ? outputSchemaOf(column) : undefined
    const compiledSchema = schema === undefined ? undefined : compileOutputSchema(schema)
    if (compiledSchema?._tag === "Failure") {
      issues.push({ path: `columns[${index}].schema`, problem: compiledSchema.failure })
    }
    const outputSchema = compiledSchema?._tag === "Success" ? compiledSchema.success : undefined
    const onTruncated = "model" in column ? column.onTruncated ?? model?.onTruncated : undefined
    return {
      index,
      config: column,
      dependencies: [...dependencies].sort(),
      templates,
      ...(model === undefined ? {} : { model }),
      ...(provider === undefined ? {} : { provider }),
      ...(outputSchema === undefined ? {} : { outputSchema }),
      ...(onTruncated === undefined ? {} : { onTruncated }),
      ...(sampler.conditions === undefined ? {} : { conditions: sampler.conditions }),
      outputs: onTruncated === "keep" ? [column.name, truncatedFlagColumn(column.name)] : [column.name]
    }
  })

  if (seed !== undefined) {
    const source = {
      table: seed,
      sampling: config.seed?.sampling ?? "ordered",
      seed: config.seed?.seed ?? config.run.seed
    }
    columns.unshift({
      index: -1,
      config: { name: seedGeneratorName, type: "seed", source },
      dependencies: [],
      templates: {},
      outputs: seedColumns
    })
  }
  const cycle = findCycle(columns)
  if (cycle !== undefined) {
    issues.push({ path: "columns", problem: `dependency cycle: ${cycle.join(" -> ")}` })
  }
  return { issues, columns }
}

// Depth-first search with colours; returns the first cycle found as a closed path (a -> b -> a).
const findCycle = (columns: ReadonlyArray<ResolvedColumn>): ReadonlyArray<string> | undefined => {
  const edges = new Map(columns.map((c) => [c.config.name, c.dependencies]))
  const state = new Map<string, "visiting" | "done">()
  const stack: Array<string> = []
  const visit = (name: string): ReadonlyArray<string> | undefined => {
    const current = state.get(name)
    if (current === "done") return undefined
    if (current === "visiting") return [...stack.slice(stack.indexOf(name)), name]
    state.set(name, "visiting")
    stack.push(name)
    for (const next of edges.get(name) ?? []) {
      const found = visit(next)
      if (found !== undefined) return found
    }
    stack.pop()
    state.set(name, "done")
    return undefined
  }
  for (const column of columns) {
    const found = visit(column.config.name)
    if (found !== undefined) return found
  }
  return undefined
}
