import { createHash } from "node:crypto"
import { Effect, FileSystem, Schema, SchemaIssue } from "effect"
import { parseDocument } from "yaml"
import { checkProcessors, type ResolvedProcessor } from "./checkProcessors.js"
import { checkReferences, type ResolvedColumn } from "./checkReferences.js"
import { ConfigError, type ConfigIssue, formatPath } from "./ConfigError.js"
import { configJsonSchema, type JsonSchemaNode } from "./configJsonSchema.js"
import { SluiceConfig } from "./schema.js"
import { loadFakers } from "../columns/person.js"
import { readSeedTable } from "../seed/readSeedTable.js"
import type { SeedTable } from "../seed/SeedTable.js"
import { unknownKeyIssues } from "./unknownKeys.js"

/** A config that passed every check, with its columns resolved and a hash that identifies it for `--resume`. */
export interface LoadedConfig {
  readonly file: string
  readonly config: SluiceConfig
  /** @internal The columns with their templates compiled and references resolved, for the pipeline. */
  readonly columns: ReadonlyArray<ResolvedColumn>
  /** @internal The row processors, with their conditions compiled, for the pipeline. */
  readonly processors: ReadonlyArray<ResolvedProcessor>
  /** The table of `seed:`, read and checked. */
  readonly seed?: SeedTable
  /**
   * sha256 of the decoded config (defaults filled in), so formatting changes do not count as a change; with a
   * seed table, of the table's bytes too.
   */
  readonly hash: string
}

const formatIssues = SchemaIssue.makeFormatterStandardSchemaV1()

const fail = (file: string, issues: ReadonlyArray<ConfigIssue>) =>
  Effect.fail(new ConfigError({ file, issues: issues as [ConfigIssue, ...Array<ConfigIssue>] }))

/** Parses YAML (JSON is YAML too) and reports syntax errors with their line and column. */
const parseText = (file: string, text: string) => {
  const document = parseDocument(text, { uniqueKeys: true })
  if (document.errors.length > 0) {
    return fail(
      file,
      document.errors.map((error) => {
        const position = error.linePos?.[0]
        const where = position === undefined ? "" : ` (line ${position.line}, column ${position.col})`
        return {
          path: "",
          problem: `invalid ${file.endsWith(".json") ? "JSON" : "YAML"}${where}: ${
            (error.message.split("\n")[0] ?? "").replace(/ at line \d+, column \d+:?$/, "")
          }`
        }
      })
    )
  }
  return Effect.succeed(document.toJS() as unknown)
}

const columnTypes = [
  "category",
  "subcategory",
  "uniform",
  "gaussian",
  "bernoulli",
  "binomial",
  "poisson",
  "datetime",
  "timedelta",
  "person",
  "uuid",
  "template",
  "llm-text",
  "llm-structured",
  "llm-judge"
]
const providerTypes = ["mock", "openai-compatible"]

// A union's own message lists every member's shape; name the unknown `type` instead.
const unknownTypes = (raw: unknown): ReadonlyArray<ConfigIssue> => {
  if (typeof raw !== "object" || raw === null) return []
  const check = (section: string, noun: string, allowed: ReadonlyArray<string>) => {
    const entries = (raw as Record<string, unknown>)[section]
    if (!Array.isArray(entries)) return []
    return entries.flatMap((entry: unknown, index): ReadonlyArray<ConfigIssue> => {
      if (typeof entry !== "object" || entry === null) return []
      const type = (entry as Record<string, unknown>)["type"]
      if (typeof type === "string" && allowed.includes(type)) return []
      const problem = type === undefined
        ? `missing ${noun} type; expected one of: ${allowed.join(", ")}`
        : `unknown ${noun} type ${JSON.stringify(type)}; expected one of: ${allowed.join(", ")}`
      return [{ path: `${section}[${index}].type`, problem }]
    })
  }
  return [...check("providers", "provider", providerTypes), ...check("columns", "column", columnTypes)]
}

const readableProblem = (message: string): string =>
  message === "Missing key" ? "required field is missing" : message.replace(/ \| undefined$/, "")

// Generated once per process, on first use.
let jsonSchema: JsonSchemaNode | undefined
const strictSchema = (): JsonSchemaNode => (jsonSchema ??= configJsonSchema())

// Every problem at once: unknown keys (with the key each most likely meant) and the schema's own issues.
const decode = (file: string, raw: unknown) => {
  const keyIssues = unknownKeyIssues(strictSchema(), raw)
  const typeIssues = unknownTypes(raw)
  if (typeIssues.length > 0) return fail(file, [...typeIssues, ...keyIssues])
  return Schema.decodeUnknownEffect(SluiceConfig)(raw, { errors: "all" }).pipe(
    Effect.catchTag("SchemaError", (error) =>
      fail(file, [
        ...keyIssues,
        ...formatIssues(error.issue).issues.map((issue) => ({
          path: formatPath((issue.path ?? []).map((segment) => (typeof segment === "object" ? segment.key : segment))),
          problem: readableProblem(issue.message)
        }))
      ])),
    Effect.flatMap((config) => keyIssues.length > 0 ? fail(file, keyIssues) : Effect.succeed(config))
  )
}

const hashOf = (config: SluiceConfig, seed: SeedTable | undefined): string => {
  const hash = createHash("sha256").update(JSON.stringify(Schema.encodeSync(SluiceConfig)(config)))
  if (seed !== undefined) hash.update(`\u0000seed:${seed.sha256}`)
  return hash.digest("hex")
}

export interface ConfigOverrides {
  /** `--rows`: replaces `run.rows` (and so changes the config hash). */
  readonly rows?: number | undefined
}

const applyOverrides = (raw: unknown, overrides: ConfigOverrides): unknown => {
  if (overrides.rows === undefined || typeof raw !== "object" || raw === null) return raw
  const record = raw as Record<string, unknown>
  const run = typeof record["run"] === "object" && record["run"] !== null ? record["run"] : {}
  return { ...record, run: { ...run, rows: overrides.rows } }
}

/**
 * Checks an already-parsed config value (what `loadConfig` does after reading and parsing the file). `file` names
 * the config in messages and in the output directory's manifest; a seed table is read relative to its directory.
 */
export const resolveConfig = Effect.fnUntraced(function*(file: string, raw: unknown, overrides: ConfigOverrides = {}) {
  const config = yield* decode(file, applyOverrides(raw, overrides))
  const seed = config.seed === undefined ? undefined : yield* readSeedTable(file, config.seed)
  const personLocales = config.columns.some((column) => column.type === "person") ? yield* loadFakers : []
  const { issues, columns } = checkReferences(config, seed, personLocales)
  const checked = checkProcessors(config.processors, columns)
  const all = [...issues, ...checked.issues]
  if (all.length > 0) return yield* fail(file, all)
  const loaded: LoadedConfig = {
    file,
    config,
    columns,
    processors: checked.processors,
    ...(seed === undefined ? {} : { seed }),
    hash: hashOf(config, seed)
  }
  return loaded
})

/** Reads, parses, decodes and checks a config file; every problem is a `ConfigError` naming its path. */
export const loadConfig = Effect.fnUntraced(function*(file: string, overrides: ConfigOverrides = {}) {
  const fs = yield* FileSystem.FileSystem
  const text = yield* fs.readFileString(file).pipe(
    Effect.catch((error) =>
      fail(file, [{
        path: "",
        problem: error.message.includes("NotFound") ? `no such file: ${file}` : `cannot read ${file}: ${error.message}`
      }])
    )
  )
  return yield* loadConfigText(file, text, overrides)
})

/** `loadConfig` of a config's text (a distributed worker gets it from its run): `file` names it and anchors paths. */
export const loadConfigText = Effect.fnUntraced(function*(file: string, text: string, overrides: ConfigOverrides = {}) {
  const raw = yield* parseText(file, text)
  return yield* resolveConfig(file, raw, overrides)
})
