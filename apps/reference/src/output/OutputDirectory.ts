import { createHash } from "node:crypto"
import { rmdir } from "node:fs/promises"
import { Clock, Console, Effect, FileSystem, Option, Path, Result } from "effect"
import type { DataIdentity } from "./dataIdentity.js"
import { dataChanges } from "./dataIdentity.js"
import { DatasetState } from "./DatasetState.js"
import { type DropRecord, dropRecordLine, parseDropRecords, unrecordedCause } from "./dropped.js"
import { replaceFileDurably, syncDirectory } from "./durable.js"
import {
  entryProblem,
  fileProblem,
  type JournalEntry,
  journalHeaderLine,
  journalLine,
  parseJournal
} from "./journal.js"
import {
  dataDirectory,
  droppedFile,
  finalNameOf,
  isPartialFileOf,
  journalFile,
  lockFile,
  manifestFile,
  eventsFile,
  metadataFile,
  summaryFile,
  rowGroupFileName,
  rowGroupFilePattern,
  temporaryFilePattern
} from "./layout.js"
import {
  decodeManifest,
  eventRunIdPrefix,
  type Manifest,
  manifestFormat,
  manifestFormatOf,
  manifestText
} from "./manifest.js"
import { ioError, OutputError } from "./OutputError.js"
import { acquireOutputLock } from "./OutputLock.js"

/** How a run uses its `--out`: a new dataset, a replaced one (`--overwrite`), or a continued one (`--resume`). */
export type OutputMode = "fresh" | "overwrite" | "resume"

export interface OutputRequest {
  readonly mode: OutputMode
  readonly rowsRequested: number
  readonly bufferSize: number
  readonly identity: DataIdentity
  /** sha256 of the whole decoded config. */
  readonly configHash: string
  readonly configFile: string
  /** The whole decoded config, as JSON, kept in the manifest. */
  readonly config: unknown
  /** `sluice <version>`, kept in the manifest. */
  readonly createdBy: string
  /** The columns a row is written with, in order: a row-group file whose rows have others is not this dataset's. */
  readonly columns: ReadonlyArray<string>
  /** `run.events`: the run appends to `events.jsonl`, which must be this dataset's own if it exists. */
  readonly events: boolean
}

export interface OpenedOutput {
  readonly directory: string
  /** What the directory holds (verified on `--resume`; empty for a new dataset). */
  readonly state: DatasetState
  /** 1 for a new dataset, +1 per resume. */
  readonly attempt: number
}

const sha256 = (bytes: Uint8Array): string => createHash("sha256").update(bytes).digest("hex")

/**
 * Whether a JSONL line is a row of a dataset written with `columns`: an object whose fields are some of those
 * columns, in their order (a row has no field for a column it skipped), and at least one.
 */
const isRowOf = (columns: ReadonlyArray<string>) => (line: string): boolean => {
  const parsed = Result.try(() => JSON.parse(line) as unknown)
  if (!Result.isSuccess(parsed)) return false
  const row = parsed.success
  if (typeof row !== "object" || row === null || Array.isArray(row)) return false
  const keys = Object.keys(row)
  let at = -1
  for (const key of keys) {
    const index = columns.indexOf(key, at + 1)
    if (index < 0) return false
    at = index
  }
  return keys.length > 0
}

/**
 * Creates `directory` (and its missing parents) for a run. If the run does not get as far as writing its manifest
 * (a failed check, a lock lost to another run), the directories created here are removed again when the scope
 * closes — each only while still empty, so nothing anybody else put there meanwhile is touched.
 */
const makeOwnDirectory = Effect.fnUntraced(function*(directory: string) {
  const fs = yield* FileSystem.FileSystem
  const path = yield* Path.Path
  const created: Array<string> = []
  for (
    let dir = path.resolve(directory);
    !(yield* fs.exists(dir).pipe(Effect.mapError(ioError(dir))));
    dir = path.dirname(dir)
  ) {
    created.push(dir)
  }
  yield* fs.makeDirectory(directory, { recursive: true }).pipe(Effect.mapError(ioError(directory)))
  yield* Effect.addFinalizer(() =>
    Effect.gen(function*() {
      // `rmdir` removes only an empty directory, atomically: it fails (and we stop) on anything inside.
      for (const dir of created) {
        const removed = yield* Effect.tryPromise(() => rmdir(dir)).pipe(
          Effect.as(true),
          Effect.orElseSucceed(() => false)
        )
        if (!removed) return
      }
    })
  )
})

/**
 * Opens `directory` for a run, holding its lock for the life of the scope.
 *
 * Sluice writes only into a directory that does not exist yet (it creates it), is empty, or carries its
 * `manifest.json`; anything else is refused before a byte is written. A new run refuses an existing dataset;
 * `--overwrite` removes the files Sluice wrote there (never others); `--resume` checks the data identity, verifies
 * every journaled row group against its size and sha256, and leaves the rest to be regenerated.
 *
 * `beforeWrite` (the models' check) runs under the lock, once the directory is known to be usable, and before
 * anything in it is created, replaced or removed: a run that cannot start leaves the directory as it found it (a
 * directory it had to create is removed again while still empty).
 */
export const openOutput = Effect.fnUntraced(function*<BeforeWriteError = never>(
  directory: string,
  request: OutputRequest,
  beforeWrite?: Effect.Effect<void, BeforeWriteError>
) {
  const fs = yield* FileSystem.FileSystem
  const path = yield* Path.Path
  const at = (name: string) => path.join(directory, name)
  const dataDir = at(dataDirectory)
  const state = new DatasetState(request.rowsRequested, request.bufferSize)

  const readManifest = fs.readFileString(at(manifestFile)).pipe(
    Effect.map(decodeManifest),
    Effect.orElseSucceed(() => Option.none<Manifest>())
  )
  const listData = fs.readDirectory(dataDir).pipe(Effect.orElseSucceed((): ReadonlyArray<string> => []))

  // 1. Before writing anything: is this directory ours to write in?
  const exists = yield* fs.exists(directory).pipe(Effect.mapError(ioError(directory)))
  if (!exists) {
    if (request.mode === "resume") {
      return yield* new OutputError({ path: directory, problem: "--resume refused: the directory does not exist" })
    }
    yield* makeOwnDirectory(directory)
  } else {
    const info = yield* fs.stat(directory).pipe(Effect.mapError(ioError(directory)))
    if (info.type !== "Directory") {
      return yield* new OutputError({ path: directory, problem: "is not a directory; choose another --out" })
    }
    const entries = yield* fs.readDirectory(directory).pipe(Effect.mapError(ioError(directory)))
    const ours = entries.includes(manifestFile) && Option.isSome(yield* readManifest)
    const dataEntries = entries.includes(dataDirectory) ? yield* listData : []
    const empty = entries.every((entry) => entry === lockFile || (entry === dataDirectory && dataEntries.length === 0))
    if (!ours && !empty) {
      return yield* new OutputError({
        path: directory,
        problem: "is not empty and is not a Sluice output (it has no Sluice manifest.json). Sluice writes only " +
          "into a new or empty directory, or one holding a dataset it wrote; choose another --out"
      })
    }
  }

  // 2. One run at a time; everything below happens under the lock (a run still starting there holds it too).
  yield* acquireOutputLock(directory)
  const manifest = yield* readManifest
  const nothingToResume = () =>
    new OutputError({
      path: directory,
      problem: "--resume refused: this is not a Sluice output (no manifest.json), so there is nothing to resume"
    })
  if (request.mode === "resume" && Option.isNone(manifest)) return yield* nothingToResume()
  if (request.mode === "fresh" && Option.isSome(manifest)) {
    return yield* new OutputError({
      path: directory,
      problem: `already holds a Sluice dataset (${manifest.value.rowsRequested} rows, ${manifest.value.configFile}); ` +
        "pass --resume to continue it, --overwrite to replace it, or choose another --out"
    })
  }
  // `events.jsonl` is appended to: one that is not this dataset's own event log is not Sluice's to extend or remove.
  if (request.events) {
    const events = at(eventsFile)
    const exists = yield* fs.exists(events).pipe(Effect.mapError(ioError(events)))
    if (exists && !(Option.isSome(manifest) && (yield* isOwnEventLog(events, manifest.value.dataIdentity)))) {
      return yield* foreignEventLog(events)
    }
  }
  if (beforeWrite !== undefined) yield* beforeWrite
  const now = new Date(yield* Clock.currentTimeMillis).toISOString()

  const writeManifest = (attempts: number, createdAt: string) =>
    replaceFileDurably(
      fs,
      directory,
      at(manifestFile),
      manifestText({
        format: manifestFormat,
        createdBy: request.createdBy,
        createdAt,
        attempts,
        rowsRequested: request.rowsRequested,
        bufferSize: request.bufferSize,
        dataIdentity: request.identity.hash,
        data: request.identity.fields,
        configHash: request.configHash,
        configFile: request.configFile,
        config: request.config
      })
    )

  // The manifest first (it makes the directory Sluice's), then an empty journal and drop list.
  const initialize = Effect.gen(function*() {
    yield* fs.makeDirectory(dataDir, { recursive: true }).pipe(Effect.mapError(ioError(dataDir)))
    yield* writeManifest(1, now)
    yield* replaceFileDurably(fs, directory, at(journalFile), journalHeaderLine)
    yield* replaceFileDurably(fs, directory, at(droppedFile), "")
    return { directory, state, attempt: 1 } satisfies OpenedOutput
  })

  if (request.mode !== "resume") {
    if (Option.isSome(manifest)) yield* removeOwnedFiles(directory, manifest.value)
    return yield* initialize
  }

  // 3. --resume: same data identity, a journal, and every journaled group verified.
  if (Option.isNone(manifest)) return yield* nothingToResume()
  const previous = manifest.value
  if (previous.dataIdentity !== request.identity.hash) {
    const changes = dataChanges(previous.data, request.identity.fields)
    return yield* new OutputError({
      path: directory,
      problem: `--resume refused: the config changed in ways that change the data (${
        changes.length > 0 ? changes.join("; ") : "the data identity differs"
      }). Undo these changes to resume, or start over with --overwrite or another --out`
    })
  }
  const journalPath = at(journalFile)
  const journalText = yield* fs.readFileString(journalPath).pipe(
    Effect.catchIf((error) => error.reason._tag === "NotFound", () => Effect.succeed(undefined)),
    Effect.mapError(ioError(journalPath))
  )
  if (journalText === undefined) {
    return yield* new OutputError({
      path: directory,
      problem: "--resume refused: there is no checkpoint journal (journal.jsonl) to resume from; " +
        "start over with --overwrite"
    })
  }
  const journal = parseJournal(journalText)
  if (!journal.valid) {
    return yield* new OutputError({
      path: journalPath,
      problem: "--resume refused: not a Sluice checkpoint journal; start over with --overwrite"
    })
  }
  const note = (line: string) => Console.error(`sluice: ${line}`)
  if (journal.completeBytes < Buffer.byteLength(journalText)) {
    yield* fs.truncate(journalPath, journal.completeBytes).pipe(Effect.mapError(ioError(journalPath)))
    yield* note(`${journalFile}: cut off a partial last line (the run stopped while appending it)`)
  }
  if (journal.corruptLines.length > 0) {
    yield* note(`${journalFile}: ignored unreadable line(s) ${journal.corruptLines.slice(0, 5).join(", ")}`)
  }

  const describeGroup = (group: number, name = rowGroupFileName(group)) =>
    `row group ${group} (${dataDirectory}/${name})`

  /** What is wrong with a journaled group's file, or undefined (its line was checked on its own terms first). */
  const verify = (entry: JournalEntry) =>
    Effect.gen(function*() {
      const bytes = yield* fs.readFile(path.join(directory, entry.file)).pipe(Effect.option)
      if (Option.isNone(bytes)) return "is missing"
      return fileProblem(entry, bytes.value, sha256(bytes.value))
    })

  const previousDrops = yield* fs.readFileString(at(droppedFile)).pipe(
    Effect.map(parseDropRecords),
    Effect.orElseSucceed(() => new Map<number, DropRecord>())
  )
  const dropsOf = (entry: JournalEntry): Array<DropRecord> =>
    entry.dropped.map((index) => {
      const row = entry.group * request.bufferSize + index
      return previousDrops.get(row) ?? { row, group: entry.group, ...unrecordedCause }
    })

  const readable: Array<JournalEntry> = []
  for (const entry of journal.entries.values()) {
    const wrong = entryProblem(entry, state)
    if (wrong === undefined) readable.push(entry)
    else {
      yield* note(
        `${journalFile}: the line for row group ${entry.group} ${wrong}; ` +
          (entry.group < state.groupCount ? "regenerating the group" : "ignoring it")
      )
    }
  }
  const problems = yield* Effect.forEach(
    readable,
    (entry) => Effect.map(verify(entry), (problem) => [entry, problem] as const),
    { concurrency: 4 }
  )
  for (const [entry, problem] of problems) {
    if (problem === undefined) state.record(entry, dropsOf(entry))
    else yield* note(`${describeGroup(entry.group, path.basename(entry.file))} ${problem}; regenerating it`)
  }
  const journaled = new Set(readable.map((entry) => entry.group))

  // Row-group files the journal does not list: the run stopped between publishing a file and journaling it.
  // A file holding every row of its group is adopted; anything else is regenerated.
  const adopted: Array<JournalEntry> = []
  for (const name of yield* listData) {
    const full = path.join(dataDir, name)
    if (isPartialFileOf(name) && rowGroupFilePattern.test(finalNameOf(name))) {
      yield* fs.remove(full).pipe(Effect.ignore)
      continue
    }
    const match = rowGroupFilePattern.exec(name)
    if (match === null) continue
    const group = Number(match[1])
    if (group >= state.groupCount || journaled.has(group)) continue
    // A Parquet file cannot be checked row by row without the journal: it is regenerated.
    if (match[2] !== "jsonl") {
      yield* note(`${describeGroup(group, name)} is not in the journal; regenerating it`)
      continue
    }
    const bytes = yield* fs.readFile(full).pipe(Effect.mapError(ioError(full)))
    const lines = new TextDecoder().decode(bytes).split("\n")
    const complete = lines.pop() === "" && lines.length === state.groupSize(group)
    if (!complete || !lines.every(isRowOf(request.columns))) {
      yield* note(
        `${describeGroup(group)} is not in the journal and ${
          complete ? "its rows are not rows of this dataset" : "is incomplete"
        }; regenerating it`
      )
      continue
    }
    const entry: JournalEntry = {
      group,
      file: `${dataDirectory}/${name}`,
      rows: lines.length,
      bytes: bytes.byteLength,
      sha256: sha256(bytes),
      dropped: []
    }
    adopted.push(entry)
    state.record(entry, [])
    yield* note(`${describeGroup(group)} was written but not journaled before the run stopped; it is complete, kept`)
  }
  // A journal with lines that could not be used is rewritten to what was verified (and adopted): after a resume,
  // every line of the journal stands for a file that is on disk as it says.
  const unusable = journal.corruptLines.length > 0 || readable.length !== journal.entries.size ||
    problems.some(([, problem]) => problem !== undefined)
  if (unusable) {
    const entries = [...state.published.values()].sort((a, b) => a.group - b.group)
    yield* replaceFileDurably(fs, directory, journalPath, journalHeaderLine + entries.map(journalLine).join(""))
  } else if (adopted.length > 0) {
    yield* fs.writeFileString(journalPath, adopted.map(journalLine).join(""), { flag: "a" }).pipe(
      Effect.andThen(Effect.scoped(Effect.flatMap(fs.open(journalPath, { flag: "a" }), (file) => file.sync))),
      Effect.mapError(ioError(journalPath))
    )
  }

  // The drop list, compacted to the rows the journal says are dropped now.
  yield* replaceFileDurably(
    fs,
    directory,
    at(droppedFile),
    [...state.dropped.values()].sort((a, b) => a.row - b.row).map(dropRecordLine).join("")
  )
  yield* syncDirectory(fs, dataDir)
  const attempt = previous.attempts + 1
  yield* writeManifest(attempt, previous.createdAt)
  return { directory, state, attempt } satisfies OpenedOutput
})

/**
 * Whether `file` is the event log of the dataset with this data identity: its first line names one of the
 * dataset's runs. (A file Sluice did not write there is neither extended nor removed.)
 */
const isOwnEventLog = Effect.fnUntraced(function*(file: string, dataIdentity: string) {
  const fs = yield* FileSystem.FileSystem
  const head = yield* Effect.scoped(Effect.gen(function*() {
    const handle = yield* fs.open(file, { flag: "r" })
    return yield* handle.readAlloc(64 * 1024)
  })).pipe(Effect.orElseSucceed(() => Option.none<Uint8Array>()))
  if (Option.isNone(head)) return false
  const text = new TextDecoder().decode(head.value)
  const first = Result.try(() => JSON.parse(text.slice(0, text.indexOf("\n"))) as unknown)
  if (!Result.isSuccess(first) || typeof first.success !== "object" || first.success === null) return false
  const runId = (first.success as { readonly runId?: unknown }).runId
  return typeof runId === "string" && runId.startsWith(eventRunIdPrefix(dataIdentity))
})

const foreignEventLog = (file: string) =>
  new OutputError({
    path: file,
    problem: "was not written by this dataset's runs, and run.events would append to it; move it away (or turn " +
      "run.events off) and run again"
  })

/**
 * `--overwrite`: removes the previous dataset's files, in an order that is safe to interrupt at any point — first
 * the files that report its rows (`summary.json`, `metadata.json`), then its journal and drop list (so no reader
 * takes what is left for a dataset), then its row-group files and event log, `data/` itself if that leaves it
 * empty, and the manifest last (so a repeated `--overwrite` still recognises the directory as Sluice's).
 *
 * A file in `data/` is the dataset's if its journal lists it, or if it has the name Sluice gives one of the
 * dataset's row groups in its format (a run killed between publishing a group and journaling it leaves one), with
 * or without a temporary-file or attempt suffix. Other group numbers, other formats and other names are kept, as
 * is an `events.jsonl` that is not the dataset's own.
 */
const removeOwnedFiles = Effect.fnUntraced(function*(directory: string, manifest: Manifest) {
  const fs = yield* FileSystem.FileSystem
  const path = yield* Path.Path
  const at = (name: string) => path.join(directory, name)
  const dataDir = at(dataDirectory)
  const journal = yield* fs.readFileString(at(journalFile)).pipe(Effect.map(parseJournal), Effect.option)
  const listed = new Set(
    Option.isSome(journal) ? [...journal.value.entries.values()].map((entry) => path.basename(entry.file)) : []
  )
  const { groupCount } = new DatasetState(manifest.rowsRequested, manifest.bufferSize)
  const format = manifestFormatOf(manifest)
  const isOurs = (name: string) => {
    const final = finalNameOf(name)
    if (listed.has(final)) return true
    const match = rowGroupFilePattern.exec(final)
    return match !== null && Number(match[1]) < groupCount && match[2] === format
  }
  let removed = 0
  // A file already gone (another removal, repeated) is not counted.
  const remove = (file: string) =>
    fs.remove(file).pipe(
      Effect.tap(() =>
        Effect.sync(() => {
          removed++
        })
      ),
      Effect.catchIf((error) => error.reason._tag === "NotFound", () => Effect.void),
      Effect.mapError(ioError(file))
    )
  // With their temporary files (a run killed while replacing one leaves `<name>.tmp-<pid>`), the manifest's too: the
  // manifest itself goes last.
  const reporting = [summaryFile, metadataFile, journalFile, droppedFile]
  const topLevel = yield* fs.readDirectory(directory).pipe(Effect.mapError(ioError(directory)))
  for (const name of topLevel) {
    const base = name.replace(temporaryFilePattern, "")
    if (reporting.includes(base) || (base === manifestFile && name !== manifestFile)) yield* remove(at(name))
  }
  yield* syncDirectory(fs, directory)
  const dataFiles = yield* fs.readDirectory(dataDir).pipe(Effect.orElseSucceed((): ReadonlyArray<string> => []))
  const ours = dataFiles.filter(isOurs)
  for (const name of ours) yield* remove(path.join(dataDir, name))
  const kept = dataFiles.length - ours.length
  if (kept === 0) yield* fs.remove(dataDir, { recursive: true }).pipe(Effect.ignore)
  if (yield* isOwnEventLog(at(eventsFile), manifest.dataIdentity)) yield* remove(at(eventsFile))
  yield* fs.remove(at(manifestFile)).pipe(Effect.mapError(ioError(directory)))
  yield* Console.error(
    `sluice: --overwrite: removed the previous dataset's ${removed + 1} files from ${directory}` +
      (kept > 0
        ? ` (kept what Sluice did not write in ${dataDirectory}/: ${kept} ${kept === 1 ? "entry" : "entries"})`
        : "")
  )
})
