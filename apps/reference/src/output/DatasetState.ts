import type { DropRecord } from "./dropped.js"
import type { JournalEntry } from "./journal.js"

/**
 * What an output directory holds, as its journal says: the published row groups (each verified when the run
 * opened the directory, or published by this run) and the rows dropped from them with their causes. Counts in
 * `summary.json` come from here, never from what a run meant to write.
 */
export class DatasetState {
  /** The latest journal entry of every published row group. */
  readonly published = new Map<number, JournalEntry>()
  /** Rows dropped from published row groups, by dataset row. */
  readonly dropped = new Map<number, DropRecord>()
  private onDisk = 0

  constructor(readonly rowsRequested: number, readonly bufferSize: number) {}

  get groupCount(): number {
    return Math.ceil(this.rowsRequested / this.bufferSize)
  }

  groupSize(group: number): number {
    return Math.max(0, Math.min(this.bufferSize, this.rowsRequested - group * this.bufferSize))
  }

  /** Records a (re)published group: its entry, and a record for each of its dropped rows. */
  record(entry: JournalEntry, drops: ReadonlyArray<DropRecord>): void {
    this.forget(entry.group)
    this.published.set(entry.group, entry)
    this.onDisk += entry.rows
    for (const drop of drops) this.dropped.set(drop.row, drop)
  }

  /** Forgets a group (its file failed verification): its rows are missing again. */
  forget(group: number): void {
    const previous = this.published.get(group)
    if (previous === undefined) return
    this.published.delete(group)
    this.onDisk -= previous.rows
    const firstRow = group * this.bufferSize
    for (const index of previous.dropped) this.dropped.delete(firstRow + index)
  }

  /** Replaces the cause of a row that is dropped (a run's exact causes, once it has them). */
  correctCause(record: DropRecord): void {
    if (this.dropped.has(record.row)) this.dropped.set(record.row, record)
  }

  get rowsOnDisk(): number {
    return this.onDisk
  }

  get rowsDropped(): number {
    return this.dropped.size
  }

  get rowsMissing(): number {
    return this.rowsRequested - this.onDisk - this.dropped.size
  }

  /** Groups not published yet, ascending. */
  unpublishedGroups(): Array<number> {
    const groups: Array<number> = []
    for (let g = 0; g < this.groupCount; g++) if (!this.published.has(g)) groups.push(g)
    return groups
  }

  /** Dropped rows, ascending. */
  droppedRows(): Array<number> {
    return [...this.dropped.keys()].sort((a, b) => a - b)
  }
}
