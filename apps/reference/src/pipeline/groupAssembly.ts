import type { Checkpoint, DroppedRow, RowValues } from "@sluice/scheduler"
import type { DatasetState } from "../output/DatasetState.js"
import { type DropRecord, unrecordedCause } from "../output/dropped.js"
import type { GroupPublication } from "../output/GroupWriter.js"
import type { FailureLog } from "./dropCauses.js"
import { datasetRowOf, type RowPlan } from "./rowPlan.js"

interface Pending {
  remaining: number
  readonly rows: Map<number, unknown>
  readonly dropped: Map<number, DropRecord>
}

/** Kinds that mean "the run stopped before this row's turn", not "this row failed". */
const stopKinds: ReadonlySet<string> = new Set(["early_shutdown"])

/**
 * Turns the scheduler's checkpoints into the dataset's row groups. Under a `Groups` plan a checkpoint is a whole
 * dataset group; under a `Rows` plan its rows belong to whichever groups they came from, and a dataset group is
 * published once every row of it the run planned has an outcome (generated or dropped).
 */
export class GroupAssembly {
  private readonly pending = new Map<number, Pending>()
  private readonly publishedThisRun = new Set<number>()

  constructor(
    private readonly plan: RowPlan,
    private readonly state: DatasetState,
    private readonly failures: FailureLog,
    /** Cells land in completion order; a dataset reads best with its columns in config order. */
    private readonly columnOrder: ReadonlyArray<string>
  ) {}

  /** Rows of `group` this run generates. */
  private plannedIn(group: number): number {
    const size = this.state.groupSize(group)
    if (this.plan._tag === "Groups") return size
    const first = group * this.state.bufferSize
    return this.plan.rows.countIn(first, first + size)
  }

  private pendingOf(group: number): Pending {
    let pending = this.pending.get(group)
    if (pending === undefined) {
      pending = {
        remaining: this.plannedIn(group),
        rows: new Map(),
        dropped: new Map()
      }
      this.pending.set(group, pending)
    }
    return pending
  }

  private ordered(row: RowValues): Record<string, unknown> {
    const out: Record<string, unknown> = {}
    for (const name of this.columnOrder) if (name in row) out[name] = row[name]
    return out
  }

  private resolve(
    row: number,
    outcome: { readonly values: RowValues } | { readonly drop: DropRecord },
    done: Array<GroupPublication>
  ): void {
    const group = Math.floor(row / this.state.bufferSize)
    if (this.publishedThisRun.has(group)) return
    const pending = this.pendingOf(group)
    const index = row - group * this.state.bufferSize
    if (pending.rows.has(index) || pending.dropped.has(index)) return
    if ("values" in outcome) {
      pending.rows.set(index, this.ordered(outcome.values))
    } else {
      pending.dropped.set(index, outcome.drop)
    }
    if (--pending.remaining === 0) {
      this.pending.delete(group)
      this.publishedThisRun.add(group)
      done.push({ group, rows: pending.rows, dropped: pending.dropped })
    }
  }

  /** The dataset groups this checkpoint completes. */
  onCheckpoint(checkpoint: Checkpoint): ReadonlyArray<GroupPublication> {
    const done: Array<GroupPublication> = []
    let survivor = 0
    for (let index = 0; index < checkpoint.size; index++) {
      const row = datasetRowOf(this.plan, checkpoint.firstRow + index)
      if (checkpoint.rowIndexes[survivor] === index) {
        this.failures.forget(row)
        this.resolve(row, { values: checkpoint.rows[survivor]! }, done)
        survivor++
      } else {
        this.resolve(row, { drop: this.failures.take(row, unrecordedCause) }, done)
      }
    }
    return done
  }

  /**
   * At the end of a run that was not interrupted: rows the scheduler dropped without a checkpoint (a group whose
   * every row was dropped, or never started after an early shutdown) get their outcome, and the groups they
   * complete are returned — except a group where this run generated nothing and dropped rows only because it
   * stopped: its rows stay missing, for a later `--resume` to generate.
   */
  onRunEnd(
    droppedRows: ReadonlyArray<DroppedRow>,
    recordOf: (dropped: DroppedRow, row: number) => DropRecord
  ): ReadonlyArray<GroupPublication> {
    const done: Array<GroupPublication> = []
    for (const dropped of droppedRows) {
      const row = datasetRowOf(this.plan, dropped.row)
      this.resolve(row, { drop: recordOf(dropped, row) }, done)
    }
    return done.filter((publication) =>
      publication.rows.size > 0 ||
      [...publication.dropped.values()].some((record) => !stopKinds.has(record.kind))
    )
  }
}
