import { taskGroupLabel, type TaskId, taskId } from "@sluice/scheduling-resources"
import { Effect, References, type Tracer } from "effect"
import type { SchedulerEvent } from "../SchedulerEvent.js"
import type { DecodedSchedulerOptions } from "../SchedulerOptions.js"
import type {
  Column,
  DropCause,
  DropKind,
  DroppedRow,
  GenerationFailure,
  RowProcessor,
  SchedulerStop
} from "../Spec.js"
import { AdmissionLedger } from "./admission.js"
import { EarlyShutdownWindow } from "./earlyShutdown.js"
import { FairQueue } from "./fairQueue.js"
import type { ExecutionGraph } from "./graph.js"
import type { ResourceTable } from "./resourceTable.js"
import { classifyError } from "./failurePolicy.js"
import { RetryLedger } from "./retryLedger.js"
import { RowGroup } from "./rowGroups.js"
import { makeTask, type Task } from "./task.js"

/** The options of one run: the decoded options plus the spec's sizes and the resumed row groups. */
export interface RunOptions extends DecodedSchedulerOptions {
  readonly rows: number
  readonly bufferSize: number
  readonly resumed: ReadonlySet<number>
}

/** Who listens to the run's events; events are only built while `listening()`. */
export interface EventSink {
  readonly listening: () => boolean
  readonly publish: (event: SchedulerEvent) => void
}

export interface RunStateOptions<R> {
  readonly columns: ReadonlyArray<Column<R>>
  readonly processors: ReadonlyArray<RowProcessor<R>>
  readonly graph: ExecutionGraph
  readonly table: ResourceTable
  readonly options: RunOptions
  /** `Clock` time in milliseconds. */
  readonly now: () => number
  readonly events: EventSink
  /** Wakes the dispatcher. */
  readonly wake: () => void
}

/** A planned row group: its id, dataset index of its first row, and its size. */
export interface PlannedRowGroup {
  readonly id: number
  readonly firstRow: number
  readonly size: number
}

/**
 * The mutable state of one run, shared by the dispatcher, the completion of tasks, the failure policy, the live
 * request capacity and the run's lifecycle. Every change is a synchronous method: JS runs one at a time, and the
 * dispatcher's step never yields in the middle, so every transition is atomic without locks.
 */
export class RunState<R> {
  readonly columns: ReadonlyArray<Column<R>>
  readonly graph: ExecutionGraph
  readonly table: ResourceTable
  readonly options: RunOptions
  readonly now: () => number
  readonly wake: () => void
  readonly queue: FairQueue
  readonly ledger: AdmissionLedger
  readonly retries = new RetryLedger()
  readonly window: EarlyShutdownWindow
  readonly active = new Map<number, RowGroup>()
  readonly tasks = new Map<TaskId, Task>()
  readonly toCheckpoint: Array<RowGroup> = []
  /** Row groups whose seed columns are complete, waiting for their pre-batch processors. */
  readonly toPreBatch: Array<RowGroup> = []
  readonly preBatch: ReadonlyArray<RowProcessor<R>>
  readonly postBatch: ReadonlyArray<RowProcessor<R>>
  readonly droppedRows: Array<DroppedRow> = []
  readonly dropCauses: Partial<Record<DropKind, number>> = {}
  readonly outcomes: Record<string, number> = {}
  /** Warnings to log (preserve deadlines, early shutdown), drained by the dispatcher loop. */
  readonly logs: Array<string> = []
  /** A tracing span per admitted row group, from admission to checkpoint. */
  readonly spans = new Map<number, Tracer.Span>()
  readonly rowGroupCount: number
  running = 0
  rowsCompleted = 0
  rowsResumed = 0
  checkpointed = 0
  /** Rows of checkpointed row groups, surviving and dropped. */
  checkpointedRows = 0
  /** Σ rows written by successful tasks (1 per cell task, the surviving rows of a full-column task). */
  cellsCompleted = 0
  /** Cells skipped by a `skip` predicate or a skipped requirement. */
  cellsSkipped = 0
  /** Set when the run stops early; no row group is admitted afterwards. */
  stop: SchedulerStop | undefined
  /** A stop on a failure kind: no task starts any more and running ones are interrupted. */
  stopRequested = false
  /** The scheduler itself is interrupting its workers (stop, cancellation, end of run). */
  interrupting = false
  private nextRowGroup = 0
  private readonly isRoot: ReadonlyArray<boolean>
  /** Seed generators (local roots): the only ones that run before a row group's pre-batch processors. */
  private readonly isSeed: ReadonlyArray<boolean>
  /** Per generator: its cells may be skipped (its own `skip`, or a requirement that may be skipped). */
  private readonly maySkip: ReadonlyArray<boolean> | undefined
  private readonly events: EventSink

  constructor(options: RunStateOptions<R>) {
    this.columns = options.columns
    this.graph = options.graph
    this.table = options.table
    this.options = options.options
    this.now = options.now
    this.wake = options.wake
    this.events = options.events
    const groups = options.table.columns
    this.queue = new FairQueue(groups.map((c) => c.group.weight))
    this.ledger = new AdmissionLedger(
      options.table.keys.map((key, i) => ({ key, limit: options.table.limits[i]! })),
      groups.map((c) => ({
        key: `group:${taskGroupLabel(c.group.key)}`,
        weight: c.group.weight,
        admittedLimit: c.group.admittedLimit,
        resources: c.resources
      })),
      options.options.admissionPolicy,
      Effect.sync(() => options.wake())
    )
    this.window = new EarlyShutdownWindow(options.options.earlyShutdown)
    this.rowGroupCount = Math.ceil(options.options.rows / options.options.bufferSize)
    this.isRoot = options.graph.nodes.map((n) => n.upstream.length === 0)
    this.isSeed = options.graph.nodes.map((n) =>
      n.upstream.length === 0 && options.table.columns[n.index]!.group.key.kind === "local"
    )
    this.preBatch = options.processors.filter((p) => p.stage === "pre-batch")
    this.postBatch = options.processors.filter((p) => p.stage === "post-batch")
    // Computed once, so a run without `skip` does no skip work per task.
    if (options.columns.some((c) => c.skip !== undefined)) {
      const maySkip: Array<boolean> = options.columns.map(() => false)
      for (const g of options.graph.topologicalOrder) {
        const column = options.columns[g]!
        maySkip[g] = column.skip !== undefined ||
          (column.propagateSkip !== false && options.graph.nodes[g]!.upstream.some((u) => maySkip[u]))
      }
      this.maySkip = maySkip
    }
  }

  /** Publishes the event `build` makes, building it only while someone listens. */
  emit(build: () => SchedulerEvent): void {
    if (this.events.listening()) this.events.publish(build())
  }

  get listening(): boolean {
    return this.events.listening()
  }

  columnOf(task: Task): string {
    return this.columns[task.generator]!.name
  }

  resourceNames(task: Task): ReadonlyArray<string> {
    return this.table.columns[task.generator]!.resources.map((r) => this.table.keys[r]!)
  }

  get planExhausted(): boolean {
    return this.nextRowGroup >= this.rowGroupCount
  }

  /** The next row group of the plan that an earlier run did not already checkpoint (those count as resumed). */
  nextPlannedRowGroup(): PlannedRowGroup | undefined {
    while (!this.planExhausted) {
      const id = this.nextRowGroup++
      const firstRow = id * this.options.bufferSize
      const size = Math.min(this.options.bufferSize, this.options.rows - firstRow)
      if (!this.options.resumed.has(id)) return { id, firstRow, size }
      this.rowsResumed += size
    }
    return undefined
  }

  /** Admits a planned row group: its root tasks become ready. */
  admit(planned: PlannedRowGroup): RowGroup {
    const rg = new RowGroup(planned.id, planned.size, planned.firstRow, this.graph, {
      skips: this.maySkip !== undefined,
      preBatch: this.preBatch.length > 0
    })
    this.active.set(planned.id, rg)
    this.emit(() => ({ _tag: "row_group_admitted", at: this.now(), rowGroup: planned.id, size: planned.size }))
    rg.roots((g, r) => this.offer(rg, g, r))
    // Everything may already be done (no seed task, every cell skipped).
    this.afterChange(rg)
    return rg
  }

  /**
   * A task became ready: index it and put it in the ready queue — unless the row group's pre-batch processors have
   * not run and it is not a seed (then it waits, parked), or its cell is skipped (then it completes at once).
   */
  offer(rg: RowGroup, generator: number, rowIndex: number): void {
    if (rg.parked !== undefined && !this.isSeed[generator]) {
      rg.parked.push(generator, rowIndex)
      return
    }
    if (this.maySkip !== undefined && this.maySkip[generator] && this.skip(rg, generator, rowIndex)) return
    const type = rowIndex >= 0 ? "cell" : this.isRoot[generator] ? "from_scratch" : "batch"
    const id = taskId({
      column: this.columns[generator]!.name,
      rowGroup: rg.id,
      rowIndex: rowIndex >= 0 ? rowIndex : null,
      type
    })
    const task = makeTask(id, generator, rg.id, rowIndex, type, this.now())
    this.tasks.set(id, task)
    rg.live++
    this.queue.enqueue(task)
    this.emit(() => ({ _tag: "ready_enqueued", at: task.readyAt, taskId: id, column: this.columnOf(task) }))
  }

  /** The pre-batch processors of the row group ran: its parked tasks are offered, except those of dropped rows. */
  releaseParked(rg: RowGroup): void {
    const parked = rg.parked
    if (parked === undefined) return
    rg.parked = undefined
    for (let i = 0; i < parked.length; i += 2) {
      const g = parked[i]!
      const r = parked[i + 1]!
      if (r >= 0 ? !rg.isDropped(r) : rg.droppedCount < rg.size) this.offer(rg, g, r)
    }
  }

  /**
   * Skips the cells of a ready task whose `skip` says so (or whose requirement was skipped on that row): outputs
   * `null`, no task. Returns true when nothing is left to run (a cell skipped; every surviving row of a full column
   * skipped — then it completes without calling its generator).
   */
  private skip(rg: RowGroup, generator: number, rowIndex: number): boolean {
    if (rowIndex >= 0) {
      const skipped = this.skipsCell(rg, generator, rowIndex)
      if (skipped === true) rg.completeCell(generator, rowIndex, (g, r) => this.offer(rg, g, r))
      return skipped !== false
    }
    let runs = false
    for (let r = 0; r < rg.size; r++) {
      if (!rg.isDropped(r) && this.skipsCell(rg, generator, r) === false) runs = true
    }
    if (runs) return false
    // Every row skipped (or dropped by a failing predicate): nothing to run.
    if (rg.droppedCount < rg.size) rg.completeFull(generator, (g, r) => this.offer(rg, g, r))
    return true
  }

  /**
   * Whether one cell is skipped (then marked skipped, with `null` outputs); "dropped" when the predicate failed
   * (the row is dropped with that failure).
   */
  private skipsCell(rg: RowGroup, generator: number, rowIndex: number): boolean | "dropped" {
    const column = this.columns[generator]!
    const node = this.graph.nodes[generator]!
    let skipped = false
    if (column.propagateSkip !== false) {
      for (const u of node.upstream) {
        if (rg.isSkipped(u, rowIndex)) {
          skipped = true
          break
        }
      }
    }
    if (!skipped && column.skip !== undefined) {
      const verdict: boolean | GenerationFailure = column.skip(rg.values[rowIndex]!)
      if (typeof verdict !== "boolean") {
        const failure = classifyError(verdict)
        this.dropRow(rg, rowIndex, {
          kind: failure.kind,
          column: column.name,
          error: verdict,
          message: `skip condition failed: ${failure.message}`
        })
        return "dropped"
      }
      skipped = verdict
    }
    if (!skipped) return false
    rg.markSkipped(generator, rowIndex)
    const values = rg.values[rowIndex]!
    for (const output of node.outputs) values[output] = null
    this.cellsSkipped++
    this.emit(() => ({
      _tag: "cell_skipped",
      at: this.now(),
      rowGroup: rg.id,
      row: rg.firstRow + rowIndex,
      column: column.name
    }))
    return true
  }

  /** Drops the row(s) a task covers: its row for a cell task, the whole row group otherwise. */
  dropRowsOf(task: Task, rg: RowGroup, cause: DropCause): void {
    if (task.rowIndex >= 0) this.dropRow(rg, task.rowIndex, cause)
    else for (let r = 0; r < rg.size; r++) this.dropRow(rg, r, cause)
  }

  /** Drops a row and purges every queued or retrying task of it: they are neither run nor counted. */
  dropRow(rg: RowGroup, rowIndex: number, cause: DropCause): void {
    if (!rg.drop(rowIndex, (g, r) => this.offer(rg, g, r))) return
    this.droppedRows.push({ rowGroup: rg.id, row: rg.firstRow + rowIndex, cause })
    this.dropCauses[cause.kind] = (this.dropCauses[cause.kind] ?? 0) + 1
    this.emit(() => ({
      _tag: "row_dropped",
      at: this.now(),
      rowGroup: rg.id,
      row: rg.firstRow + rowIndex,
      kind: cause.kind,
      ...(cause.column === undefined ? {} : { column: cause.column })
    }))
    for (let g = 0; g < this.graph.nodes.length; g++) {
      if (this.graph.nodes[g]!.strategy === "cell") {
        this.purge(rg, taskId({ column: this.columns[g]!.name, rowGroup: rg.id, rowIndex, type: "cell" }))
      } else if (rg.droppedCount === rg.size) {
        const type = this.isRoot[g] ? "from_scratch" : "batch"
        this.purge(rg, taskId({ column: this.columns[g]!.name, rowGroup: rg.id, rowIndex: null, type }))
      }
    }
  }

  /** Records the rows of a row group that was never admitted as dropped. */
  dropPlanned(planned: PlannedRowGroup, cause: DropCause): void {
    for (let r = 0; r < planned.size; r++) {
      this.droppedRows.push({ rowGroup: planned.id, row: planned.firstRow + r, cause })
    }
    this.dropCauses[cause.kind] = (this.dropCauses[cause.kind] ?? 0) + planned.size
  }

  private purge(rg: RowGroup, id: TaskId): void {
    const task = this.tasks.get(id)
    if (task === undefined || task.state === "running") return
    if (task.state === "queued") this.queue.discard(task)
    else if (task.state === "retrying") this.retries.forget(task)
    else return
    this.tasks.delete(id)
    rg.live--
  }

  /** The task is over (completed, dropped or cancelled). */
  end(task: Task, rg: RowGroup): void {
    task.state = "done"
    this.tasks.delete(task.id)
    rg.live--
  }

  /**
   * Queues the row group for its pre-batch processors once no task of it is alive while they are pending (only
   * seed tasks run before them), and for its checkpoint once every surviving row is complete and no task of it is
   * alive.
   */
  afterChange(rg: RowGroup): void {
    if (rg.parked !== undefined) {
      if (!rg.preBatchQueued && rg.live === 0 && !rg.checkpointing) {
        rg.preBatchQueued = true
        this.toPreBatch.push(rg)
      }
      // A row group whose rows were all dropped needs no processor: it checkpoints (writing nothing).
      if (rg.droppedCount < rg.size) return
    }
    if (!rg.checkpointing && rg.isComplete()) {
      rg.checkpointing = true
      this.toCheckpoint.push(rg)
    }
  }

  count(kind: string): void {
    this.outcomes[kind] = (this.outcomes[kind] ?? 0) + 1
  }
}

/**
 * Runs `effect` without yielding to other fibers and without interruption, so the state changes and the permits it
 * takes or resizes happen as one step: the dispatcher's select → acquire → commit → fork, and a capacity change.
 */
export const atomically = <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  effect.pipe(Effect.uninterruptible, Effect.provideService(References.PreventSchedulerYield, true))
