import { Effect, Exit } from "effect"
import { SchedulerGeneratorError } from "../errors.js"
import type { BatchInput, CellInput, GenerationFailure, RowValues } from "../Spec.js"
import { classifyCause, classifyError, type FailurePolicy, isInterruptOnly } from "./failurePolicy.js"
import type { RowGroup } from "./rowGroups.js"
import type { RunState } from "./runState.js"
import type { Task } from "./task.js"

/**
 * Applies a worker's exit: releases its task lease exactly once (success, failure, defect or interruption), then
 * completes the task — writing its values and offering what it unblocks — or hands the failure to the policy.
 */
export class Completion<R> {
  constructor(private readonly state: RunState<R>, private readonly failures: FailurePolicy<R>) {}

  isRunning(task: Task, dispatch: number): boolean {
    return task.state === "running" && task.dispatch === dispatch
  }

  /**
   * Exactly once per dispatch: a late exit of an earlier attempt never touches the current one. The state changes
   * happen in one synchronous call, then the permits are released and the dispatcher is woken (the release ends with
   * the wake). The caller runs it uninterruptibly (the worker's own uninterruptible region), so no permit is lost.
   */
  complete(
    task: Task,
    dispatch: number,
    input: CellInput | BatchInput,
    exit: Exit.Exit<unknown, GenerationFailure>,
    jitter: number
  ): Effect.Effect<void> {
    return Effect.suspend(() => {
      if (!this.isRunning(task, dispatch)) return Effect.void
      const state = this.state
      state.running--
      state.emit(() => ({
        _tag: "task_lease_released",
        at: state.now(),
        taskId: task.id,
        column: state.columnOf(task),
        resources: state.resourceNames(task)
      }))
      const rg = state.active.get(task.rowGroup)!
      const release = state.ledger.release(task.generator)
      this.apply(task, rg, input, exit, jitter)
      state.afterChange(rg)
      return release
    })
  }

  private apply(
    task: Task,
    rg: RowGroup,
    input: CellInput | BatchInput,
    exit: Exit.Exit<unknown, GenerationFailure>,
    jitter: number
  ): void {
    const state = this.state
    const now = state.now()
    if (state.interrupting && isInterruptOnly(exit)) {
      state.end(task, rg)
      state.emit(() => ({ _tag: "cancelled", at: now, taskId: task.id, column: state.columnOf(task) }))
      return
    }
    const rowGone = task.rowIndex >= 0 ? rg.isDropped(task.rowIndex) : rg.droppedCount === rg.size
    if (rowGone) {
      // The row was dropped while this task ran: its result is discarded and counts as nothing.
      state.end(task, rg)
      state.emit(() => ({
        _tag: "task_completed",
        at: now,
        taskId: task.id,
        column: state.columnOf(task),
        outcome: "row_dropped",
        rows: 0
      }))
      return
    }
    if (Exit.isFailure(exit)) return this.failures.fail(task, rg, classifyCause(exit.cause), now, jitter)
    const written = this.write(task, rg, input, exit.value)
    if (typeof written !== "number") return this.failures.fail(task, rg, classifyError(written), now, jitter)
    state.end(task, rg)
    state.count("success")
    state.cellsCompleted += written
    state.window.record(false)
    state.emit(() => ({
      _tag: "task_completed",
      at: now,
      taskId: task.id,
      column: state.columnOf(task),
      outcome: "success",
      rows: written
    }))
    if (task.rowIndex >= 0) rg.completeCell(task.generator, task.rowIndex, (g, r) => state.offer(rg, g, r))
    else rg.completeFull(task.generator, (g, r) => state.offer(rg, g, r))
  }

  /**
   * Writes a successful result into the row group and returns the rows written; a malformed batch result becomes
   * a generator failure.
   */
  private write(
    task: Task,
    rg: RowGroup,
    input: CellInput | BatchInput,
    value: unknown
  ): GenerationFailure | number {
    const outputs = this.state.graph.nodes[task.generator]!.outputs
    if (task.rowIndex >= 0) {
      writeOutputs(rg.values[task.rowIndex]!, value as RowValues, outputs)
      return 1
    }
    const batch = input as BatchInput
    const rows = value as ReadonlyArray<RowValues>
    if (!Array.isArray(rows) || rows.length !== batch.rowIndexes.length) {
      return new SchedulerGeneratorError({
        message: `Full column "${this.state.columnOf(task)}" returned ${
          Array.isArray(rows) ? `${rows.length} rows` : typeof rows
        } for ${batch.rowIndexes.length} rows`
      })
    }
    let written = 0
    for (let i = 0; i < rows.length; i++) {
      const r = batch.rowIndexes[i]!
      // Rows dropped while the batch ran are skipped; their values are never checkpointed.
      if (rg.isDropped(r)) continue
      writeOutputs(rg.values[r]!, rows[i]!, outputs)
      written++
    }
    return written
  }
}

const writeOutputs = (target: Record<string, unknown>, value: RowValues, outputs: ReadonlyArray<string>): void => {
  if (value === null || typeof value !== "object") return
  for (const output of outputs) if (Object.hasOwn(value, output)) target[output] = value[output]
}
