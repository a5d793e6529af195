import { modelErrorKinds } from "@sluice/errors"
import type { DroppedRow } from "@sluice/scheduler"
import type { DropRecord } from "../output/dropped.js"
import { redactSecrets } from "../output/redact.js"

// Turning failures into the drop records `dropped.jsonl` and `summary.json` show: the kind, the column, the
// attempts, and the provider's own words when it sent any (else the first line of the error), with keys removed.

const firstLine = (text: string): string => text.split("\n")[0] ?? ""

/** The kind a report uses for a failure a generator returned (a model error kind, or `generator_failure`). */
export const failureKindOf = (error: unknown): string => {
  const record = error as { readonly _tag?: unknown; readonly kind?: unknown }
  const tag = typeof record._tag === "string" ? record._tag : ""
  const kind = (modelErrorKinds as Readonly<Record<string, string>>)[tag]
  if (kind !== undefined) return kind
  if (typeof record.kind === "string") return record.kind
  return tag === "GeneratorError" ? "generator_failure" : tag === "" ? "unknown" : tag
}

/**
 * The provider's own message when the error carries one; else a model error's cause in words (its message's first
 * line only says which model failed); else the first line of the error's message.
 */
export const failureMessageOf = (error: unknown, secrets: ReadonlyArray<string>): string => {
  const record = error as { readonly providerMessage?: unknown; readonly reason?: unknown; readonly message?: unknown }
  const text = typeof record.providerMessage === "string" && record.providerMessage !== ""
    ? record.providerMessage
    : typeof record.reason === "string" && record.reason !== ""
    ? record.reason
    : typeof record.message === "string"
    ? firstLine(record.message)
    : String(error)
  return redactSecrets(text, secrets)
}

/** The record of a row the scheduler dropped, at dataset row `row` (its result's rows may be remapped). */
export const dropRecordOf = (
  dropped: DroppedRow,
  row: number,
  bufferSize: number,
  secrets: ReadonlyArray<string>
): DropRecord => {
  const { cause } = dropped
  return {
    row,
    group: Math.floor(row / bufferSize),
    kind: cause.kind,
    ...(cause.column === undefined ? {} : { column: cause.column }),
    ...(cause.attempts === undefined ? {} : { attempts: cause.attempts }),
    message: cause.error !== undefined
      ? failureMessageOf(cause.error, secrets)
      : redactSecrets(cause.message, secrets)
  }
}

/**
 * The last failure seen on each row still in flight, so a row group published before the run ends (or a run
 * that is interrupted) can say why its rows were dropped. The scheduler's own drop causes replace these once
 * the run returns them. Only failures cost anything; entries leave when their row is published.
 */
export class FailureLog {
  private readonly last = new Map<number, { column: string; attempts: number; error: unknown }>()

  constructor(private readonly bufferSize: number, private readonly secrets: ReadonlyArray<string>) {}

  record(row: number, column: string, error: unknown): void {
    const previous = this.last.get(row)
    const attempts = previous !== undefined && previous.column === column ? previous.attempts + 1 : 1
    this.last.set(row, { column, attempts, error })
  }

  /** The row's drop record from its last failure (or an unknown cause), and forgets the row. */
  take(row: number, fallback: { readonly kind: string; readonly message: string }): DropRecord {
    const seen = this.last.get(row)
    this.last.delete(row)
    const group = Math.floor(row / this.bufferSize)
    if (seen === undefined) return { row, group, ...fallback }
    return {
      row,
      group,
      kind: failureKindOf(seen.error),
      column: seen.column,
      attempts: seen.attempts,
      message: failureMessageOf(seen.error, this.secrets)
    }
  }

  forget(row: number): void {
    this.last.delete(row)
  }
}
