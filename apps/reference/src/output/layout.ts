// The names of everything Sluice writes in an output directory. Nothing else in the directory is Sluice's: a run
// never writes, moves or deletes a file that is not one of these.

/** Written first, before any other file: the marker that makes a directory a Sluice output. */
export const manifestFile = "manifest.json"
/** Append-only: one line per published row group. The source of truth for what is on disk. */
export const journalFile = "journal.jsonl"
/** One line per dropped row (row, group, cause). */
export const droppedFile = "dropped.jsonl"
/** A summary of the journal, refreshed at the end of each run and every few seconds during it. */
export const metadataFile = "metadata.json"
export const summaryFile = "summary.json"
/** With `run.events: true`: one line per scheduler, request, health and capacity event. */
export const eventsFile = "events.jsonl"
/** Held for the whole run: pid, host and start time of the run that holds it. */
export const lockFile = "sluice.lock"
export const dataDirectory = "data"

/** The row-group files' formats (`run.format`). */
export type RowGroupFormat = "jsonl" | "parquet"

export const rowGroupFileName = (rowGroup: number, format: RowGroupFormat = "jsonl"): string =>
  `row-group-${String(rowGroup).padStart(5, "0")}.${format}`
export const rowGroupFilePattern = /^row-group-(\d{5,})\.(jsonl|parquet)$/

/** Files are written as `<name>.tmp-<pid>`, fsynced, then renamed over `<name>`: a reader sees all or nothing. */
export const temporaryFileOf = (target: string, pid: number): string => `${target}.tmp-${pid}`
export const temporaryFilePattern = /\.tmp-\d+$/

/**
 * A distributed worker writes a row group as `<name>.attempt-<token>` (its own attempt, durable before it claims
 * the group); the coordinator renames the one attempt that won the group's commit marker over `<name>`.
 */
export const attemptFileOf = (target: string, token: string): string => `${target}.attempt-${token}`
export const attemptFilePattern = /\.attempt-[\w-]+$/

/** A file Sluice writes on its way to `name`: a temporary file or a worker's attempt. */
export const isPartialFileOf = (name: string): boolean =>
  temporaryFilePattern.test(name) || attemptFilePattern.test(name)

/** `name` without a temporary-file or attempt suffix. */
export const finalNameOf = (name: string): string =>
  name.replace(temporaryFilePattern, "").replace(attemptFilePattern, "")

/** The files at the top of an output directory that Sluice writes (besides `data/`). */
export const ownedTopLevelFiles: ReadonlyArray<string> = [
  journalFile,
  droppedFile,
  metadataFile,
  summaryFile,
  eventsFile,
  manifestFile
]
