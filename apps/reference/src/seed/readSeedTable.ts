import { createHash } from "node:crypto"
import { parse as parseCsv } from "csv-parse/sync"
import { Effect, FileSystem, Path } from "effect"
import { parquetReadObjects } from "hyparquet"
import { ConfigError, type ConfigIssue } from "../config/ConfigError.js"
import type { SeedDataset, SeedFormat } from "../config/seedSchema.js"
import type { SeedTable } from "./SeedTable.js"

const fail = (file: string, path: string, problem: string) =>
  Effect.fail(new ConfigError({ file, issues: [{ path, problem } satisfies ConfigIssue] }))

const formatOfExtension = (file: string): SeedFormat | undefined => {
  const lower = file.toLowerCase()
  if (lower.endsWith(".csv")) return "csv"
  if (lower.endsWith(".jsonl") || lower.endsWith(".ndjson")) return "jsonl"
  if (lower.endsWith(".parquet")) return "parquet"
  return undefined
}

// Values a JSON row can hold: Parquet's INT64 comes back as a bigint, its timestamps as Dates.
const jsonValue = (value: unknown): unknown => {
  if (typeof value === "bigint") {
    return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER)
      ? Number(value)
      : value.toString()
  }
  if (value instanceof Date) return value.toISOString()
  if (value instanceof Uint8Array) return Buffer.from(value).toString("base64")
  if (Array.isArray(value)) return value.map(jsonValue)
  if (typeof value === "object" && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, jsonValue(v)]))
  }
  return value
}

/** Column names in first-seen order over every row. */
const columnsOf = (rows: ReadonlyArray<Readonly<Record<string, unknown>>>): ReadonlyArray<string> => {
  const seen = new Set<string>()
  for (const row of rows) for (const key of Object.keys(row)) seen.add(key)
  return [...seen]
}

const decoder = new TextDecoder()

const parseRows = (
  format: SeedFormat,
  bytes: Uint8Array
): Effect.Effect<ReadonlyArray<Record<string, unknown>>, string> => {
  switch (format) {
    case "csv":
      return Effect.try({
        try: () =>
          parseCsv(decoder.decode(bytes), { columns: true, skip_empty_lines: true, bom: true }) as Array<
            Record<string, unknown>
          >,
        catch: (error) => `cannot read it as CSV: ${(error as Error).message}`
      })
    case "jsonl":
      return Effect.gen(function*() {
        const rows: Array<Record<string, unknown>> = []
        const lines = decoder.decode(bytes).split("\n")
        for (let i = 0; i < lines.length; i++) {
          const line = lines[i]!.trim()
          if (line === "") continue
          const value = yield* Effect.try({
            try: () => JSON.parse(line) as unknown,
            catch: () => `line ${i + 1} is not JSON`
          })
          if (typeof value !== "object" || value === null || Array.isArray(value)) {
            return yield* Effect.fail(`line ${i + 1} is not a JSON object`)
          }
          rows.push(value as Record<string, unknown>)
        }
        return rows
      })
    case "parquet":
      return Effect.tryPromise({
        try: () => {
          const file = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer
          return parquetReadObjects({ file })
        },
        catch: (error) => `cannot read it as Parquet: ${(error as Error).message}`
      }).pipe(Effect.map((rows) => rows.map((row) => jsonValue(row) as Record<string, unknown>)))
  }
}

/**
 * Reads the seed table of `seed:` (its path relative to the config file's directory). A missing file, an unknown
 * format, a file that does not parse, or a table with no rows or no columns is a `ConfigError` naming the field.
 */
export const readSeedTable = Effect.fnUntraced(function*(configFile: string, seed: SeedDataset) {
  const fs = yield* FileSystem.FileSystem
  const path = yield* Path.Path
  const file = path.resolve(path.dirname(configFile), seed.path)
  const format = seed.format ?? formatOfExtension(file)
  if (format === undefined) {
    return yield* fail(
      configFile,
      "seed.format",
      `cannot tell the format of ${seed.path} from its extension; set format: csv, jsonl or parquet`
    )
  }
  const bytes = yield* fs.readFile(file).pipe(
    Effect.catch((error) =>
      fail(
        configFile,
        "seed.path",
        error.message.includes("NotFound")
          ? `no such file: ${file} (a relative path is read from the config file's directory)`
          : `cannot read ${file}: ${error.message}`
      )
    )
  )
  const rows = yield* parseRows(format, bytes).pipe(
    Effect.catch((problem) => fail(configFile, "seed.path", `${seed.path}: ${problem}`))
  )
  const columns = columnsOf(rows)
  if (rows.length === 0 || columns.length === 0) {
    return yield* fail(configFile, "seed.path", `${seed.path} has no rows; a seed table needs at least one`)
  }
  return {
    file,
    columns,
    rows,
    sha256: createHash("sha256").update(bytes).digest("hex")
  } satisfies SeedTable
})
