import { createHash } from "node:crypto"
import { Schema } from "effect"
import { SluiceConfig } from "../config/schema.js"

// The data identity of a config: the fields that decide what a dataset's rows are — rows and row groups, the
// sampler seed, the row-group format, every column, each model's identity and generation parameters, and each provider's identity (for
// the mock, its response seed). `--resume` continues a dataset only under the same identity. Everything else —
// `maxParallelRequests`, timeouts, request-admission tuning, `maxConcurrentRowGroups`, `maxInFlightTasks`, the
// mock's capacity, latency and fault rates, the API key variable — may change between attempts.

export interface DataIdentity {
  /** sha256 of `fields` as canonical JSON. */
  readonly hash: string
  readonly fields: DataFields
}

export interface DataFields {
  /** `format` only when it is not the default (older datasets keep their identity). */
  readonly run: {
    readonly rows: number
    readonly bufferSize: number
    readonly seed: number
    readonly format?: "parquet"
  }
  readonly columns: ReadonlyArray<unknown>
  readonly models: ReadonlyArray<unknown>
  readonly providers: ReadonlyArray<unknown>
  /** Row processors decide which rows are written; absent when there are none (older identities unchanged). */
  readonly processors?: ReadonlyArray<unknown>
  /** sha256 of the seed table's file, when the config has one. */
  readonly seedTable?: string
}

const encodeConfig = Schema.encodeSync(SluiceConfig)

/** Object keys sorted, recursively: the same value always serializes to the same text. */
const canonical = (value: unknown): unknown => {
  if (Array.isArray(value)) return value.map(canonical)
  if (typeof value !== "object" || value === null) return value
  const out: Record<string, unknown> = {}
  for (const key of Object.keys(value).sort()) {
    const field = (value as Record<string, unknown>)[key]
    if (field !== undefined) out[key] = canonical(field)
  }
  return out
}

export const dataFieldsOf = (config: SluiceConfig, seedTableSha256?: string): DataFields => {
  const encoded = encodeConfig(config)
  return canonical({
    run: {
      rows: config.run.rows,
      bufferSize: config.run.bufferSize,
      seed: config.run.seed,
      format: config.run.format === "parquet" ? "parquet" : undefined
    },
    columns: encoded.columns,
    processors: config.processors.length === 0 ? undefined : encoded.processors,
    models: config.models.map((m) => ({
      alias: m.alias,
      provider: m.provider,
      model: m.model,
      temperature: m.temperature,
      maxTokens: m.maxTokens
    })),
    providers: config.providers.map((p) =>
      p.type === "mock" ? { name: p.name, type: p.type, seed: p.mock.seed } : {
        name: p.name,
        type: p.type,
        baseUrl: p.baseUrl
      }
    ),
    seedTable: seedTableSha256
  }) as DataFields
}

export const dataIdentityOf = (config: SluiceConfig, seedTableSha256?: string): DataIdentity => {
  const fields = dataFieldsOf(config, seedTableSha256)
  return { hash: createHash("sha256").update(JSON.stringify(fields)).digest("hex"), fields }
}

const show = (value: unknown): string | undefined => {
  if (value === undefined) return "(none)"
  const text = JSON.stringify(value)
  return text.length <= 40 ? text : undefined
}

/**
 * Where two data-field values differ, in the config's own terms (`columns[2].prompt changed`,
 * `run.rows changed (160 → 200)`, `columns[4] added`), at most `limit` of them.
 */
export const dataChanges = (before: unknown, after: unknown, limit = 5): ReadonlyArray<string> => {
  const changes: Array<string> = []
  const walk = (a: unknown, b: unknown, path: string): void => {
    if (changes.length >= limit) return
    if (Array.isArray(a) && Array.isArray(b)) {
      for (let i = 0; i < Math.max(a.length, b.length); i++) {
        if (i >= a.length) changes.push(`${path}[${i}] added`)
        else if (i >= b.length) changes.push(`${path}[${i}] removed`)
        else walk(a[i], b[i], `${path}[${i}]`)
        if (changes.length >= limit) return
      }
      return
    }
    const isRecord = (v: unknown): v is Record<string, unknown> =>
      typeof v === "object" && v !== null && !Array.isArray(v)
    if (isRecord(a) && isRecord(b)) {
      for (const key of [...new Set([...Object.keys(a), ...Object.keys(b)])].sort()) {
        walk(a[key], b[key], path === "" ? key : `${path}.${key}`)
      }
      return
    }
    if (JSON.stringify(a) === JSON.stringify(b)) return
    const [from, to] = [show(a), show(b)]
    changes.push(from !== undefined && to !== undefined ? `${path} changed (${from} → ${to})` : `${path} changed`)
  }
  walk(before, after, "")
  return changes
}
