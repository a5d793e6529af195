import { Option, Schema } from "effect"
import { dataDirectory, rowGroupFilePattern } from "./layout.js"

// The checkpoint journal (`journal.jsonl`): a header line, then one line per published row group, appended and
// fsynced after the group's file and its directory entry are durable. A later line for the same group (a group
// republished by `--retry-dropped`) replaces the earlier one. A run killed mid-append leaves at most one partial
// last line, which the next run ignores and cuts off.

export const journalFormat = "sluice-checkpoints/1"

export const JournalHeader = Schema.Struct({ journal: Schema.Literal(journalFormat) })

const NonNegativeInt = Schema.Int.check(Schema.isGreaterThanOrEqualTo(0))

export const JournalEntry = Schema.Struct({
  /** Row-group index. */
  group: NonNegativeInt,
  /** The file, relative to the output directory. */
  file: Schema.String,
  /** Rows in the file (the group's surviving rows). */
  rows: NonNegativeInt,
  bytes: NonNegativeInt,
  /** sha256 of the file's bytes, hex. */
  sha256: Schema.String,
  /** Indexes (inside the group) of rows dropped from it, ascending; their causes are in `dropped.jsonl`. */
  dropped: Schema.Array(NonNegativeInt)
})
export type JournalEntry = typeof JournalEntry.Type

export const journalHeaderLine = JSON.stringify({ journal: journalFormat }) + "\n"
export const journalLine = (entry: JournalEntry): string => JSON.stringify(entry) + "\n"

const decodeHeader = Schema.decodeUnknownOption(Schema.fromJsonString(JournalHeader))
const decodeEntry = Schema.decodeUnknownOption(Schema.fromJsonString(JournalEntry))

export interface ParsedJournal {
  /** False when the first line is not a Sluice journal header. */
  readonly valid: boolean
  /** The latest entry of each group. */
  readonly entries: ReadonlyMap<number, JournalEntry>
  /** Byte length of the complete lines: a partial last line (a run killed mid-append) starts here. */
  readonly completeBytes: number
  /** Lines that are not journal entries (never written by Sluice as such), 1-based. */
  readonly corruptLines: ReadonlyArray<number>
}

export const parseJournal = (text: string): ParsedJournal => {
  const end = text.lastIndexOf("\n") + 1
  const lines = text.slice(0, end).split("\n")
  lines.pop()
  const entries = new Map<number, JournalEntry>()
  const corruptLines: Array<number> = []
  const valid = lines.length > 0 && Option.isSome(decodeHeader(lines[0]!))
  if (valid) {
    for (let i = 1; i < lines.length; i++) {
      const entry = decodeEntry(lines[i]!)
      if (Option.isSome(entry)) entries.set(entry.value.group, entry.value)
      else corruptLines.push(i + 1)
    }
  }
  return { valid, entries, completeBytes: Buffer.byteLength(text.slice(0, end)), corruptLines }
}

/** The row-group layout a journal is read against: the manifest's rows and buffer size. */
export interface GroupGeometry {
  readonly groupCount: number
  readonly groupSize: (group: number) => number
}

/**
 * What makes a journal line unusable on its own terms, before its file is read: a group beyond the dataset, a file
 * that is not the name Sluice gives that group in `data/`, or counts that do not add up to the group's rows. Such a
 * line was not written by Sluice as it stands; nothing it names is read.
 */
export const entryProblem = (entry: JournalEntry, geometry: GroupGeometry): string | undefined => {
  if (entry.group >= geometry.groupCount) {
    return `names row group ${entry.group}, beyond the dataset's ${geometry.groupCount} row groups`
  }
  const prefix = `${dataDirectory}/`
  const match = entry.file.startsWith(prefix) ? rowGroupFilePattern.exec(entry.file.slice(prefix.length)) : null
  if (match === null || Number(match[1]) !== entry.group) {
    return `names ${JSON.stringify(entry.file)}, not a row-group file Sluice names for row group ${entry.group}`
  }
  const size = geometry.groupSize(entry.group)
  const dropped = entry.dropped
  for (let i = 0; i < dropped.length; i++) {
    if (dropped[i]! >= size || (i > 0 && dropped[i]! <= dropped[i - 1]!)) {
      return `lists dropped rows that row group ${entry.group} (${size} rows) does not have`
    }
  }
  if (entry.rows + dropped.length !== size) {
    return `records ${entry.rows} rows and ${dropped.length} dropped for row group ${entry.group}, which has ${size}`
  }
  return undefined
}

/** What makes a row-group file's bytes differ from its journal line: size, sha256, and (JSONL) its row count. */
export const fileProblem = (entry: JournalEntry, bytes: Uint8Array, sha256: string): string | undefined => {
  const size = bytes.byteLength
  if (size !== entry.bytes) {
    return size < entry.bytes
      ? `is truncated (${size} of ${entry.bytes} bytes)`
      : `has ${size} bytes, not the ${entry.bytes} the journal recorded`
  }
  if (sha256 !== entry.sha256) return "does not match its recorded sha256"
  if (entry.file.endsWith(".jsonl")) {
    let lines = 0
    for (let i = 0; i < size; i++) if (bytes[i] === 10) lines++
    if (lines !== entry.rows) return `holds ${lines} rows, not the ${entry.rows} the journal recorded`
  }
  return undefined
}
