import { createHash } from "node:crypto"
import { stringify as stringifyCsv } from "csv-stringify/sync"
import { Effect, FileSystem, Option, Path } from "effect"
import { writeFileDurably } from "./durable.js"
import { parseJournal } from "./journal.js"
import { journalFile, manifestFile } from "./layout.js"
import { decodeManifest } from "./manifest.js"
import { ioError, OutputError } from "./OutputError.js"
import { decodeParquet, encodeParquet } from "./parquetRows.js"

export type ExportFormat = "jsonl" | "parquet" | "csv"

export interface ExportResult {
  readonly rows: number
  readonly rowGroups: number
  /** Rows requested but not on disk (dropped or not generated yet). */
  readonly rowsMissing: number
}

const decoder = new TextDecoder()
const encoder = new TextEncoder()

/** CSV cells: text as it is, numbers and booleans as written, objects and lists as JSON, null as empty. */
const csvCell = (value: unknown): string | number | boolean =>
  value === null || value === undefined
    ? ""
    : typeof value === "object"
    ? JSON.stringify(value)
    : (value as string | number | boolean)

const csvBytes = (rows: ReadonlyArray<Record<string, unknown>>): Uint8Array => {
  const columns = [...new Set(rows.flatMap((row) => Object.keys(row)))]
  const records = rows.map((row) => columns.map((column) => csvCell(row[column])))
  return encoder.encode(stringifyCsv(records, { header: true, columns }))
}

/**
 * Merges the row groups of the dataset in `directory` into one file, in row-group order: the groups its journal
 * lists, each verified against the size and sha256 the journal recorded (a damaged group fails the export and
 * names the command that repairs it). JSONL keeps each group's bytes; Parquet gets one row group per dataset row
 * group; CSV has a header of every column.
 */
export const exportDataset = Effect.fnUntraced(function*(
  directory: string,
  target: string,
  format: ExportFormat,
  overwrite: boolean
) {
  const fs = yield* FileSystem.FileSystem
  const path = yield* Path.Path
  const manifest = decodeManifest(
    yield* fs.readFileString(path.join(directory, manifestFile)).pipe(Effect.orElseSucceed(() => ""))
  )
  if (Option.isNone(manifest)) {
    return yield* new OutputError({ path: directory, problem: "is not a Sluice output (no manifest.json)" })
  }
  if (!overwrite && (yield* fs.exists(target).pipe(Effect.orElseSucceed(() => false)))) {
    return yield* new OutputError({ path: target, problem: "already exists; pass --overwrite to replace it" })
  }
  const journal = parseJournal(
    yield* fs.readFileString(path.join(directory, journalFile)).pipe(Effect.mapError(ioError(directory)))
  )
  const entries = [...journal.entries.values()].sort((a, b) => a.group - b.group)

  const jsonlParts: Array<Uint8Array> = []
  const rows: Array<Record<string, unknown>> = []
  let count = 0
  for (const entry of entries) {
    const file = path.join(directory, entry.file)
    const bytes = yield* fs.readFile(file).pipe(Effect.mapError(ioError(file)))
    if (bytes.byteLength !== entry.bytes || createHash("sha256").update(bytes).digest("hex") !== entry.sha256) {
      return yield* new OutputError({
        path: file,
        problem: `does not match what the journal recorded; run \`sluice generate <config> --out ${directory} ` +
          "--resume` to regenerate it, then export again"
      })
    }
    count += entry.rows
    const isParquet = entry.file.endsWith(".parquet")
    if (format === "jsonl" && !isParquet) {
      jsonlParts.push(bytes)
      continue
    }
    const groupRows = isParquet
      ? yield* decodeParquet(bytes).pipe(
        Effect.mapError((error) => new OutputError({ path: file, problem: `cannot read it: ${error.message}` }))
      )
      : decoder.decode(bytes).split("\n").filter((line) => line !== "").map((line) =>
        JSON.parse(line) as Record<string, unknown>
      )
    if (format === "jsonl") jsonlParts.push(encoder.encode(groupRows.map((r) => JSON.stringify(r) + "\n").join("")))
    else for (const row of groupRows) rows.push(row)
  }

  const bytes = format === "jsonl"
    ? Buffer.concat(jsonlParts)
    : format === "parquet"
    ? encodeParquet(rows, manifest.value.bufferSize)
    : csvBytes(rows)
  yield* writeFileDurably(fs, target, bytes)
  return {
    rows: count,
    rowGroups: entries.length,
    rowsMissing: manifest.value.rowsRequested - count
  } satisfies ExportResult
})
