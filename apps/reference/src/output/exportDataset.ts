import { createHash } from "node:crypto"
import { stringify as stringifyCsv } from "csv-stringify/sync"
import { Effect, Exit, FileSystem, Option, Path } from "effect"
import { syncDirectory } from "./durable.js"
import { DatasetState } from "./DatasetState.js"
import { entryProblem, fileProblem, type JournalEntry, parseJournal } from "./journal.js"
import {
  dataDirectory,
  journalFile,
  lockFile,
  manifestFile,
  ownedTopLevelFiles,
  temporaryFileOf,
  temporaryFilePattern
} from "./layout.js"
import { decodeManifest } from "./manifest.js"
import { ioError, OutputError } from "./OutputError.js"
import { currentLockHolder } from "./OutputLock.js"
import { decodeParquet, ParquetColumns, parquetStream } from "./parquetRows.js"

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

const csvRows = (
  rows: ReadonlyArray<Readonly<Record<string, unknown>>>,
  columns: ReadonlyArray<string>,
  header: boolean
): Uint8Array =>
  encoder.encode(
    stringifyCsv(rows.map((row) => columns.map((column) => csvCell(row[column]))), {
      header,
      columns: [...columns]
    })
  )

/**
 * Merges the row groups of the dataset in `directory` into one file, in row-group order: the groups its journal
 * lists, each verified against the size and sha256 the journal recorded (a damaged group fails the export and
 * names the command that repairs it). JSONL keeps each group's bytes; Parquet gets one row group per dataset row
 * group; CSV has a header of every column.
 *
 * Only one group's rows are in memory at a time. The file is written as `<to>.tmp-<pid>`, fsynced and renamed over
 * `--to` at the end, so a failed or interrupted export leaves `--to` as it was (and removes its temporary file).
 * CSV and Parquet read the groups twice: first for the columns (the CSV header, the Parquet schema), then to write.
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
  const holder = yield* currentLockHolder(directory)
  if (Option.isSome(holder)) {
    return yield* new OutputError({
      path: directory,
      problem: `is being written by ${holder.value}; export it once that run has ended`
    })
  }
  const toStdout = target === "-"
  if (!toStdout) yield* checkTarget(directory, target, overwrite)

  // What the dataset holds is what its journal says, checked as `--resume` checks it: a line or a file that does
  // not add up fails the export (naming the command that repairs it) rather than leaving rows out.
  const repair = `run \`sluice generate <config> --out ${directory} --resume\` to repair the dataset, then export again`
  const journalPath = path.join(directory, journalFile)
  const journalText = yield* fs.readFileString(journalPath).pipe(
    Effect.catchIf((error) => error.reason._tag === "NotFound", () => Effect.succeed(undefined)),
    Effect.mapError(ioError(journalPath))
  )
  if (journalText === undefined) {
    return yield* new OutputError({
      path: journalPath,
      problem: "is missing, so what the dataset holds cannot be told; start it over with --overwrite"
    })
  }
  const journal = parseJournal(journalText)
  if (!journal.valid) {
    return yield* new OutputError({
      path: journalPath,
      problem: "is not a Sluice checkpoint journal, so what the dataset holds cannot be told; start it over with " +
        "--overwrite"
    })
  }
  if (journal.corruptLines.length > 0) {
    return yield* new OutputError({
      path: journalPath,
      problem: `has unreadable line(s) ${journal.corruptLines.slice(0, 5).join(", ")}; ${repair}`
    })
  }
  const geometry = new DatasetState(manifest.value.rowsRequested, manifest.value.bufferSize)
  const entries = [...journal.entries.values()].sort((a, b) => a.group - b.group)
  for (const entry of entries) {
    const wrong = entryProblem(entry, geometry)
    if (wrong !== undefined) {
      return yield* new OutputError({
        path: journalPath,
        problem: `the line for row group ${entry.group} ${wrong}; ${repair}`
      })
    }
  }

  /** A group's bytes, checked against the journal. */
  const bytesOf = (entry: JournalEntry) =>
    Effect.gen(function*() {
      const file = path.join(directory, entry.file)
      const bytes = yield* fs.readFile(file).pipe(
        Effect.catchIf(
          (error) => error.reason._tag === "NotFound",
          () => new OutputError({ path: file, problem: `is missing; ${repair}` })
        ),
        Effect.mapError((error) => error instanceof OutputError ? error : ioError(file)(error))
      )
      const problem = fileProblem(entry, bytes, createHash("sha256").update(bytes).digest("hex"))
      if (problem !== undefined) return yield* new OutputError({ path: file, problem: `${problem}; ${repair}` })
      return bytes
    })

  const rowsOf = (entry: JournalEntry, bytes: Uint8Array) =>
    entry.file.endsWith(".parquet")
      ? decodeParquet(bytes).pipe(
        Effect.mapError((error) =>
          new OutputError({ path: path.join(directory, entry.file), problem: `cannot read it: ${error.message}` })
        )
      )
      : Effect.succeed(
        decoder.decode(bytes).split("\n").filter((line) => line !== "").map((line) =>
          JSON.parse(line) as Record<string, unknown>
        )
      )

  // The columns over every group, before anything is written: a damaged group fails the export here.
  const columns = new ParquetColumns()
  if (format !== "jsonl") {
    for (const entry of entries) columns.add(yield* rowsOf(entry, yield* bytesOf(entry)))
  }

  const encoderOf = (): {
    readonly start: Uint8Array
    readonly group: (entry: JournalEntry, bytes: Uint8Array) => Effect.Effect<Uint8Array, OutputError>
    readonly finish: () => Uint8Array
  } => {
    const none = new Uint8Array(0)
    switch (format) {
      case "jsonl":
        return {
          start: none,
          // A JSONL group is copied as it is; a Parquet group is written as the JSON lines of its rows.
          group: (entry, bytes) =>
            entry.file.endsWith(".parquet")
              ? Effect.map(
                rowsOf(entry, bytes),
                (rows) => encoder.encode(rows.map((row) => JSON.stringify(row) + "\n").join(""))
              )
              : Effect.succeed(bytes),
          finish: () => none
        }
      case "csv": {
        const names = columns.names
        return {
          start: csvRows([], names, true),
          group: (entry, bytes) => Effect.map(rowsOf(entry, bytes), (rows) => csvRows(rows, names, false)),
          finish: () => none
        }
      }
      case "parquet": {
        const parquet = parquetStream(columns.columns)
        return {
          start: parquet.start,
          group: (entry, bytes) => Effect.map(rowsOf(entry, bytes), parquet.group),
          finish: parquet.finish
        }
      }
    }
  }

  const writeGroups = (append: (bytes: Uint8Array) => Effect.Effect<void, OutputError>) =>
    Effect.gen(function*() {
      const encode = encoderOf()
      yield* append(encode.start)
      for (const entry of entries) yield* append(yield* encode.group(entry, yield* bytesOf(entry)))
      yield* append(encode.finish())
    })

  if (toStdout) {
    yield* writeGroups((bytes) => bytes.byteLength === 0 ? Effect.void : writeStdout(bytes))
  } else {
    const temporary = temporaryFileOf(target, process.pid)
    const write = Effect.scoped(
      Effect.gen(function*() {
        const file = yield* fs.open(temporary, { flag: "w" }).pipe(Effect.mapError(ioError(temporary)))
        yield* writeGroups((bytes) =>
          bytes.byteLength === 0 ? Effect.void : file.writeAll(bytes).pipe(Effect.mapError(ioError(temporary)))
        )
        yield* file.sync.pipe(Effect.mapError(ioError(temporary)))
      })
    )
    yield* write.pipe(
      Effect.andThen(fs.rename(temporary, target).pipe(Effect.mapError(ioError(target)))),
      Effect.onExit((exit) => Exit.isSuccess(exit) ? Effect.void : fs.remove(temporary).pipe(Effect.ignore))
    )
    yield* syncDirectory(fs, path.dirname(target))
  }
  const rows = entries.reduce((sum, entry) => sum + entry.rows, 0)
  return { rows, rowGroups: entries.length, rowsMissing: manifest.value.rowsRequested - rows } satisfies ExportResult
})

/** `--to -`: the bytes go to stdout, waiting for it to drain (a pipe to a slow reader holds one chunk at a time). */
const writeStdout = (bytes: Uint8Array): Effect.Effect<void, OutputError> =>
  Effect.callback<void, OutputError>((resume) => {
    process.stdout.write(bytes, (error) =>
      resume(
        error === null || error === undefined
          ? Effect.void
          : Effect.fail(new OutputError({ path: "stdout", problem: error.message }))
      ))
  })

/**
 * Refuses a `--to` that is part of the dataset in `directory` (compared by real path, so a symbolic link does not
 * hide it), a directory, or an existing file without `overwrite`; creates its missing parent directories.
 */
const checkTarget = Effect.fnUntraced(function*(directory: string, target: string, overwrite: boolean) {
  const fs = yield* FileSystem.FileSystem
  const path = yield* Path.Path
  // The real path of `file`, which may not exist yet: its nearest existing ancestor's, then the rest of its path.
  const realPathOf = (file: string) =>
    Effect.gen(function*() {
      let existing = path.resolve(file)
      const rest: Array<string> = []
      while (
        !(yield* fs.exists(existing).pipe(Effect.orElseSucceed(() => false))) && path.dirname(existing) !== existing
      ) {
        rest.unshift(path.basename(existing))
        existing = path.dirname(existing)
      }
      const real = yield* fs.realPath(existing).pipe(Effect.mapError(ioError(file)))
      return path.join(real, ...rest)
    })
  const dataset = yield* fs.realPath(directory).pipe(Effect.mapError(ioError(directory)))
  const resolved = yield* realPathOf(target)
  const ownName = path.basename(resolved).replace(temporaryFilePattern, "")
  if (
    resolved === dataset ||
    resolved.startsWith(path.join(dataset, dataDirectory) + path.sep) ||
    (path.dirname(resolved) === dataset && [...ownedTopLevelFiles, lockFile, dataDirectory].includes(ownName))
  ) {
    return yield* new OutputError({
      path: target,
      problem: `is part of the dataset in ${directory}; write the export to a file outside its data/ directory ` +
        "and other than its own files"
    })
  }
  const info = yield* fs.stat(target).pipe(Effect.option)
  if (Option.isSome(info)) {
    if (info.value.type === "Directory") {
      return yield* new OutputError({ path: target, problem: "is a directory; name the file to write" })
    }
    if (!overwrite) {
      return yield* new OutputError({ path: target, problem: "already exists; pass --overwrite to replace it" })
    }
  } else {
    const parent = path.dirname(target)
    yield* fs.makeDirectory(parent, { recursive: true }).pipe(Effect.mapError(ioError(parent)))
  }
})
