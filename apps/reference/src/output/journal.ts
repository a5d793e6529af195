import { Option, Schema } from "effect"

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
