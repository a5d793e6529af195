import type { Checkpoint, DropCause, RowValues } from "../Spec.js"
import type { RowGroup } from "./rowGroups.js"
import type { RunState } from "./runState.js"

/**
 * How a run ends: early shutdown, a stop on a failure kind, and the checkpoints of completed row groups.
 *
 * **Early shutdown** (the sliding window of non-retryable failures tripped) stops admitting row groups and rows:
 * - rows of row groups not yet admitted, and admitted rows none of whose tasks has been dispatched, are dropped
 *   with `early_shutdown`;
 * - a task waiting in the retry ledger on a non-preserved failure has its row dropped with that failure;
 * - rows already started go on: running tasks are never interrupted (their request is already on its way), and
 *   the rest of the row's DAG runs as it becomes ready. A non-preserved failure drops the row at once; a preserved
 *   one (rate limit, admission timeout) keeps retrying until it succeeds or hits `retry.preserveDeadline`.
 *
 * **A stop on a failure kind** (`stopOnKinds`) ends the run at once: no task starts any more, running tasks are
 * interrupted (their leases released), and every unfinished row is dropped with `early_shutdown`, naming the kind and
 * the failure's message.
 *
 * Either way, the finished rows of every admitted row group are checkpointed.
 */
// A provider's message usually ends its sentence; the log line goes on after it.
const withoutFinalPeriod = (text: string): string => text.replace(/\.+$/, "")

export class Lifecycle<R> {
  constructor(private readonly state: RunState<R>) {}

  earlyShutdown(firstFailure: string): void {
    const state = this.state
    const window = state.window
    const rate = state.options.earlyShutdown === false ? 1 : state.options.earlyShutdown.rate
    const message = `Early shutdown: ${window.failures} of the last ${window.size} task outcomes were ` +
      `non-retryable failures (threshold ${Math.round(rate * 100)} %); first: ${firstFailure}`
    state.stop = { reason: "early_shutdown", message }
    state.logs.push(`${withoutFinalPeriod(message)}. Rows already started finish; preserved retries go on.`)
    const cause: DropCause = { kind: "early_shutdown", message }
    this.dropUnadmitted(cause)
    for (const rg of state.active.values()) {
      for (let r = 0; r < rg.size; r++) if (!rg.isStarted(r)) state.dropRow(rg, r, cause)
    }
    // Safe while dropping: a Map iteration skips entries deleted before they are reached.
    for (const task of state.tasks.values()) {
      if (task.state !== "retrying" || task.lastPolicy === "preserve") continue
      state.dropRowsOf(task, state.active.get(task.rowGroup)!, {
        kind: task.lastKind ?? "early_shutdown",
        column: state.columnOf(task),
        attempts: task.attempts,
        ...(task.lastError === undefined ? {} : { error: task.lastError }),
        message: task.lastMessage
      })
    }
    for (const rg of state.active.values()) state.afterChange(rg)
  }

  stopOnKind(kind: string, failure: string): void {
    const state = this.state
    const message = `Stopped at the first ${kind} failure: ${failure}`
    state.stop = { reason: "stop_on_kind", kind, message }
    state.stopRequested = true
    state.logs.push(`${withoutFinalPeriod(message)}. Running tasks are interrupted and unfinished rows dropped.`)
    const cause: DropCause = { kind: "early_shutdown", message }
    this.dropUnadmitted(cause)
    for (const rg of state.active.values()) {
      for (let r = 0; r < rg.size; r++) if (!rg.isRowComplete(r)) state.dropRow(rg, r, cause)
      state.afterChange(rg)
    }
  }

  /** The checkpoint of a completed row group (survivors only), or undefined when every row was dropped. */
  checkpointOf(rg: RowGroup): Checkpoint | undefined {
    const rowIndexes: Array<number> = []
    const rows: Array<RowValues> = []
    for (let r = 0; r < rg.size; r++) {
      if (rg.isDropped(r)) continue
      rowIndexes.push(r)
      rows.push(rg.values[r]!)
    }
    return rows.length === 0 ? undefined : { rowGroup: rg.id, firstRow: rg.firstRow, size: rg.size, rowIndexes, rows }
  }

  /** The row group is durable: forget it (compaction — nothing of it stays in scheduler state). */
  markCheckpointed(rg: RowGroup): void {
    const state = this.state
    state.active.delete(rg.id)
    const surviving = rg.size - rg.droppedCount
    state.rowsCompleted += surviving
    state.checkpointed++
    state.checkpointedRows += rg.size
    state.emit(() => ({
      _tag: "row_group_checkpointed",
      at: state.now(),
      rowGroup: rg.id,
      size: rg.size,
      survivingRows: surviving,
      droppedRows: rg.droppedCount
    }))
  }

  /** Rows of row groups never admitted get an outcome too: dropped with `cause`. */
  private dropUnadmitted(cause: DropCause): void {
    const state = this.state
    for (let planned = state.nextPlannedRowGroup(); planned !== undefined; planned = state.nextPlannedRowGroup()) {
      state.dropPlanned(planned, cause)
    }
  }
}
