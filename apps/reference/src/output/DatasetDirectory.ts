import { Effect, FileSystem, Path, Schema, Semaphore } from "effect"

/** The output directory could not be used: unreadable metadata, a changed config on `--resume`, an I/O failure. */
export class OutputError extends Schema.TaggedError<OutputError>()("OutputError", {
  path: Schema.String,
  problem: Schema.String
}) {
  override get message(): string {
    return `${this.path}: ${this.problem}`
  }
}

export const DatasetMetadata = Schema.Struct({
  configHash: Schema.String,
  rowsRequested: Schema.Int,
  bufferSize: Schema.Int,
  completedRowGroups: Schema.Array(Schema.Int)
})
export type DatasetMetadata = typeof DatasetMetadata.Type

export interface DatasetPlan {
  readonly configHash: string
  readonly rowsRequested: number
  readonly bufferSize: number
  readonly resume: boolean
}

export interface DatasetDirectory {
  readonly directory: string
  /** Row groups already on disk (after `--resume`); the run skips them. */
  readonly completedRowGroups: ReadonlySet<number>
  /** Writes one row group's rows as `data/row-group-NNNNN.jsonl`, atomically (temp file + rename). */
  readonly writeRowGroup: (rowGroup: number, rows: ReadonlyArray<unknown>) => Effect.Effect<void, OutputError>
  readonly writeSummary: (summary: unknown) => Effect.Effect<void, OutputError>
}

export const rowGroupFileName = (rowGroup: number): string => `row-group-${String(rowGroup).padStart(5, "0")}.jsonl`
const rowGroupFilePattern = /^row-group-(\d+)\.jsonl$/

const decodeMetadata = Schema.decodeUnknownEffect(Schema.fromJsonString(DatasetMetadata))

/**
 * Opens (or resets) an output directory. A fresh run clears earlier data; `--resume` keeps every row group whose
 * file is on disk — the rename that publishes a file is atomic, so a killed run leaves whole files or none — and
 * refuses to continue if the config changed.
 */
export const openDatasetDirectory = Effect.fnUntraced(function*(directory: string, plan: DatasetPlan) {
  const fs = yield* FileSystem.FileSystem
  const path = yield* Path.Path
  const dataDir = path.join(directory, "data")
  const metadataFile = path.join(directory, "metadata.json")
  const summaryFile = path.join(directory, "summary.json")
  const ioError = (target: string) => (error: { readonly message: string }) =>
    new OutputError({ path: target, problem: error.message })

  const writeAtomically = (target: string, text: string) =>
    Effect.gen(function*() {
      const temporary = `${target}.tmp-${process.pid}`
      yield* fs.writeFileString(temporary, text)
      yield* fs.rename(temporary, target)
    }).pipe(Effect.mapError(ioError(target)))

  const completed = new Set<number>()
  if (plan.resume && (yield* fs.exists(metadataFile).pipe(Effect.mapError(ioError(metadataFile))))) {
    const text = yield* fs.readFileString(metadataFile).pipe(Effect.mapError(ioError(metadataFile)))
    const previous = yield* decodeMetadata(text).pipe(
      Effect.mapError(() => new OutputError({ path: metadataFile, problem: "is not a Sluice metadata file" }))
    )
    if (previous.configHash !== plan.configHash) {
      return yield* new OutputError({
        path: directory,
        problem: "--resume refused: the config changed since this output was written " +
          `(was ${previous.configHash.slice(0, 12)}, now ${plan.configHash.slice(0, 12)}); ` +
          "write to a new --out directory or run without --resume"
      })
    }
    if (previous.rowsRequested !== plan.rowsRequested || previous.bufferSize !== plan.bufferSize) {
      return yield* new OutputError({
        path: directory,
        problem: `--resume refused: this output was started with ${previous.rowsRequested} rows in groups of ` +
          `${previous.bufferSize}, not ${plan.rowsRequested} in groups of ${plan.bufferSize}`
      })
    }
    const files = yield* fs.readDirectory(dataDir).pipe(Effect.orElseSucceed(() => []))
    for (const file of files) {
      const match = rowGroupFilePattern.exec(file)
      if (match !== null) completed.add(Number(match[1]))
      else if (file.includes(".tmp-")) yield* fs.remove(path.join(dataDir, file)).pipe(Effect.ignore)
    }
  } else {
    yield* fs.remove(dataDir, { recursive: true }).pipe(Effect.ignore)
    yield* fs.remove(summaryFile).pipe(Effect.ignore)
  }
  yield* fs.makeDirectory(dataDir, { recursive: true }).pipe(Effect.mapError(ioError(dataDir)))

  // Suspended: it must render the completed set as it is when it runs, not when it was built.
  const writeMetadata = Effect.suspend(() =>
    writeAtomically(
      metadataFile,
      JSON.stringify(
        {
          configHash: plan.configHash,
          rowsRequested: plan.rowsRequested,
          bufferSize: plan.bufferSize,
          completedRowGroups: [...completed].sort((a, b) => a - b)
        } satisfies DatasetMetadata,
        null,
        2
      ) + "\n"
    )
  )
  yield* writeMetadata

  // Checkpoints may arrive from several workers: one writer at a time keeps metadata.json consistent.
  const lock = yield* Semaphore.make(1)
  const writeRowGroup = (rowGroup: number, rows: ReadonlyArray<unknown>) =>
    Effect.gen(function*() {
      const text = rows.map((row) => JSON.stringify(row)).join("\n") + (rows.length > 0 ? "\n" : "")
      yield* writeAtomically(path.join(dataDir, rowGroupFileName(rowGroup)), text)
      completed.add(rowGroup)
      yield* writeMetadata
    }).pipe(lock.withPermits(1))

  const writeSummary = (summary: unknown) => writeAtomically(summaryFile, JSON.stringify(summary, null, 2) + "\n")

  return {
    directory,
    completedRowGroups: new Set(completed),
    writeRowGroup,
    writeSummary
  } satisfies DatasetDirectory
})
