import { Effect } from "effect"
import type { BatchInput, CellInput, RowValues } from "../Spec.js"
import type { DenyReason } from "./admission.js"
import type { LiveCapacity } from "./liveCapacity.js"
import type { RowGroup } from "./rowGroups.js"
import type { RunState } from "./runState.js"
import type { Task } from "./task.js"

/** A worker to fork: the task and the input its generator receives. */
export interface Spawn {
  readonly task: Task
  /** The task's dispatch number when spawned. */
  readonly dispatch: number
  readonly input: CellInput | BatchInput
}

export interface StepOutcome {
  readonly done: boolean
  readonly deadlock: boolean
  /** The step dispatched a full batch and more tasks may be eligible: step again after a yield, without a wake. */
  readonly more: boolean
  /** Clock millis of the earliest retry due time, if any. */
  readonly nextDueAt: number | undefined
}

/**
 * Moves work from the plan to the workers: admits row groups, puts due retries back in the ready queue, and runs
 * select → acquire → commit for up to `batch` tasks, all in one step that cannot be interrupted halfway and,
 * run by the dispatcher loop (which never yields to the scheduler on its own), does not yield halfway either. The workers to fork are left in `spawned` for the loop to start right after the step, so a
 * generator that completes synchronously never re-enters a step.
 */
export class Dispatcher<R> {
  readonly spawned: Array<Spawn> = []
  /** Row groups admitted by the last step (the loop opens their tracing spans). */
  readonly admitted: Array<RowGroup> = []
  readonly step: Effect.Effect<StepOutcome>
  /**
   * Tasks the next step may start: `dispatchBatch` per wake-up it answers. Wake-ups that arrive in the same
   * event-loop turn (workers completing) are answered by one step, which may then refill every slot they freed.
   */
  batch: number
  /** The groups with queued work, rebuilt by each `select` (kept to spare an array per call). */
  private readonly peers: Array<number> = []

  constructor(private readonly state: RunState<R>, private readonly capacity: LiveCapacity<R>) {
    this.batch = state.options.dispatchBatch
    // The loop runs the step without scheduler yields (see `Scheduler`); it must not be interrupted halfway either.
    this.step = Effect.uninterruptible(Effect.suspend(() => this.run()))
  }

  private run(): Effect.Effect<StepOutcome> {
    const state = this.state
    const now = state.now()
    if (state.stop === undefined) this.admitRowGroups()
    if (state.stopRequested) return Effect.succeed(this.outcome(0))
    state.retries.takeDue(now, (task) => {
      this.capacity.forgetWaiting(task)
      state.emit(() => ({
        _tag: "retry_redispatched",
        at: now,
        taskId: task.id,
        column: state.columnOf(task),
        attempt: task.attempts + 1
      }))
      state.queue.enqueue(task)
    })
    let dispatched = 0
    // select → acquire → commit → spawn, with no yield in between; the permits are taken once the batch is chosen.
    while (state.queue.size > 0 && dispatched < this.batch) {
      const task = this.select(now)
      if (task === undefined) break
      state.ledger.acquire(task.generator)
      this.started(task, now)
      dispatched++
    }
    const outcome = this.outcome(dispatched)
    return dispatched === 0 ? Effect.succeed(outcome) : Effect.as(state.ledger.takeGranted, outcome)
  }

  private outcome(dispatched: number): StepOutcome {
    const state = this.state
    const idle = state.running === 0 && state.toCheckpoint.length === 0 && state.toPreBatch.length === 0
    const done = idle && state.active.size === 0 && state.planExhausted
    const deadlock = !done && idle && dispatched === 0 && !state.stopRequested && state.retries.size === 0 &&
      !this.capacity.anyClosed()
    return {
      done,
      deadlock,
      more: dispatched >= this.batch && state.queue.size > 0,
      nextDueAt: state.stopRequested ? undefined : state.retries.nextDueAt()
    }
  }

  private admitRowGroups(): void {
    const state = this.state
    while (state.active.size < state.options.maxConcurrentRowGroups) {
      const planned = state.nextPlannedRowGroup()
      if (planned === undefined) return
      this.admitted.push(state.admit(planned))
    }
  }

  /** The task was granted its lease: it leaves the queue and its worker is due. */
  private started(task: Task, now: number): void {
    const state = this.state
    state.queue.commit(task)
    task.state = "running"
    task.dispatch++
    state.running++
    const rg = state.active.get(task.rowGroup)!
    rg.markStarted(task.rowIndex)
    const column = state.columnOf(task)
    state.emit(() => ({ _tag: "selected", at: now, taskId: task.id, column }))
    state.emit(() => ({
      _tag: "task_lease_acquired",
      at: now,
      taskId: task.id,
      column,
      resources: state.resourceNames(task)
    }))
    state.emit(() => ({ _tag: "worker_spawned", at: now, taskId: task.id, column }))
    this.spawned.push({ task, dispatch: task.dispatch, input: inputOf(rg, task) })
  }

  /** The next eligible head in fair order, or undefined (then the reasons heads were refused are published). */
  private select(now: number): Task | undefined {
    const state = this.state
    const peers = this.peers
    peers.length = 0
    for (let g = 0; g < state.columns.length; g++) if (state.queue.queuedIn(g) > 0) peers.push(g)
    const reasons: Record<string, number> | undefined = state.listening ? {} : undefined
    const task = state.queue.select((head) => {
      const reason: DenyReason | undefined = state.ledger.evaluate(head.generator, peers)
      if (reason !== undefined && reasons !== undefined) reasons[reason] = (reasons[reason] ?? 0) + 1
      return reason === undefined
    })
    if (task === undefined && reasons !== undefined) {
      state.emit(() => ({
        _tag: reasons["group_cap"] !== undefined ? "group_capped" : "admission_blocked",
        at: now,
        queued: state.queue.size,
        reasons
      }))
    }
    return task
  }
}

const inputOf = (rg: RowGroup, task: Task): CellInput | BatchInput => {
  if (task.rowIndex >= 0) {
    return {
      rowGroup: rg.id,
      rowIndex: task.rowIndex,
      row: rg.firstRow + task.rowIndex,
      values: { ...rg.values[task.rowIndex] }
    }
  }
  const rowIndexes: Array<number> = []
  const rows: Array<RowValues> = []
  for (let r = 0; r < rg.size; r++) {
    // Rows skipped for this column are not its input: they keep their `null` outputs.
    if (rg.isDropped(r) || rg.isSkipped(task.generator, r)) continue
    rowIndexes.push(r)
    rows.push({ ...rg.values[r] })
  }
  return { rowGroup: rg.id, firstRow: rg.firstRow, rowIndexes, rows }
}
