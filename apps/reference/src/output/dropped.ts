import { Option, Schema } from "effect"

// `dropped.jsonl`: one line per dropped row — its dataset index, row group, cause kind, the column whose task
// failed, the attempts it got and the last error message (secrets redacted). During a run lines are appended as
// row groups are published; at the end of the run the file is rewritten to list exactly the rows still dropped.
// A later line for the same row replaces an earlier one.

const NonNegativeInt = Schema.Int.check(Schema.isGreaterThanOrEqualTo(0))

export const DropRecord = Schema.Struct({
  /** Dataset row index. */
  row: NonNegativeInt,
  group: NonNegativeInt,
  /** A model error kind (`timeout`, `authentication`, …) or a scheduler kind (`early_shutdown`, …). */
  kind: Schema.String,
  column: Schema.optional(Schema.String),
  attempts: Schema.optional(NonNegativeInt),
  message: Schema.String
})
export type DropRecord = typeof DropRecord.Type

/** The cause of a row the journal lists as dropped when the run stopped before recording why. */
export const unrecordedCause = {
  kind: "unknown",
  message: "the run stopped before recording why this row was dropped"
} as const

export const dropRecordLine = (record: DropRecord): string => JSON.stringify(record) + "\n"

const decodeRecord = Schema.decodeUnknownOption(Schema.fromJsonString(DropRecord))

/** The latest record of each row; lines that are not records are skipped. */
export const parseDropRecords = (text: string): Map<number, DropRecord> => {
  const records = new Map<number, DropRecord>()
  for (const line of text.split("\n")) {
    if (line === "") continue
    const record = decodeRecord(line)
    if (Option.isSome(record)) records.set(record.value.row, record.value)
  }
  return records
}
