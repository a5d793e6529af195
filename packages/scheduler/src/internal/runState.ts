import { isModelError, modelErrorKindOf, retryPolicyOf } from "@sluice/errors"
import {
  providerModelLabel,
  type RequestCapacityView,
  type TaskId,
  taskId,
  toProviderModelKey
} from "@sluice/scheduling-resources"
import { Cause, Exit } from "effect"
import { GeneratorError } from "../errors.js"
import type { SchedulerEvent } from "../Events.js"
import type {
  BatchInput,
  CellInput,
  Checkpoint,
  Column,
  DropCause,
  DropKind,
  DroppedRow,
  GenerationFailure,
  RowValues
} from "../Spec.js"
import { AdmissionLedger, type DenyReason } from "./admission.js"
import { EarlyShutdownWindow } from "./earlyShutdown.js"
import { FairQueue } from "./fairQueue.js"
import type { ExecutionGraph } from "./graph.js"
import type { ResolvedOptions } from "./options.js"
import type { ResolvedGenerator, ResourceTable } from "./resolve.js"
import { RetryLedger } from "./retryLedger.js"
import { RowGroup } from "./rowGroups.js"
import { makeTask, type Task } from "./task.js"

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

interface RuntimeLimit {
  readonly index: number
  readonly staticLimit: number
  readonly domains: Map<string, RequestCapacityView>
  current: number
  minObserved: number
  open: boolean
  /** Tasks waiting out a rate limit on this endpoint: they retry as soon as it reopens, not at Retry-After. */
  readonly waitingForReopen: Set<Task>
}

/**
 * All mutable state of one run, changed only by synchronous methods: the dispatcher's step (admit row groups,
 * re-queue due retries, select → acquire → commit → spawn) and the workers' completion handler. JS runs one of
 * them at a time, so every transition is atomic without locks.
 */
export class RunState<R> {
  readonly queue: FairQueue
  readonly ledger: AdmissionLedger
  readonly retries = new RetryLedger()
  readonly window: EarlyShutdownWindow
  readonly active = new Map<number, RowGroup>()
  readonly tasks = new Map<TaskId, Task>()
  readonly toCheckpoint: Array<RowGroup> = []
  readonly droppedRows: Array<DroppedRow> = []
  readonly dropCauses: Partial<Record<DropKind, number>> = {}
  readonly outcomes: Record<string, number> = {}
  readonly runtimeLimits: Array<RuntimeLimit> = []
  private readonly runtimeByLabel = new Map<string, RuntimeLimit>()
  private readonly rowGroupCount: number
  private nextRowGroup = 0
  running = 0
  rowsCompleted = 0
  rowsResumed = 0
  checkpointed = 0
  /** Rows of checkpointed row groups, surviving and dropped. */
  checkpointedRows = 0
  /** Σ rows written by successful tasks (1 per cell task, the surviving rows of a full-column task). */
  cellsCompleted = 0
  maxRequestWaiters = 0
  shutdown = false
  /** Messages to log (preserve deadlines), drained by the dispatcher. */
  readonly logs: Array<string> = []
  private readonly isRoot: Array<boolean>

  constructor(
    private readonly columns: ReadonlyArray<Column<R>>,
    private readonly graph: ExecutionGraph,
    private readonly generators: ReadonlyArray<ResolvedGenerator>,
    private readonly resources: ResourceTable,
    readonly options: ResolvedOptions,
    private readonly now: () => number,
    private readonly listening: () => boolean,
    private readonly publish: (event: SchedulerEvent) => void,
    private readonly spawn: (spawn: Spawn) => void,
    private readonly wake: () => void
  ) {
    this.queue = new FairQueue(generators.map((g) => g.spec.weight))
    this.ledger = new AdmissionLedger(
      resources.staticLimits,
      generators.map((g) => ({ weight: g.spec.weight, admittedLimit: g.spec.admittedLimit, resources: g.resources })),
      options.policy
    )
    this.window = new EarlyShutdownWindow(options.earlyShutdown)
    this.rowGroupCount = Math.ceil(options.rows / options.bufferSize)
    this.isRoot = graph.nodes.map((n) => n.upstream.length === 0)
    for (const [index, domains] of resources.requestDomains) {
      const limit: RuntimeLimit = {
        index,
        staticLimit: resources.staticLimits[index]!,
        domains: new Map(),
        current: resources.staticLimits[index]!,
        minObserved: resources.staticLimits[index]!,
        open: true,
        waitingForReopen: new Set()
      }
      this.runtimeLimits.push(limit)
      for (const d of domains) this.runtimeByLabel.set(providerModelLabel(toProviderModelKey(d)), limit)
    }
  }

  get resourceKeys(): ReadonlyArray<string> {
    return this.resources.keys
  }

  get planExhausted(): boolean {
    return this.nextRowGroup >= this.rowGroupCount
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Dispatcher step

  step(): StepOutcome {
    const now = this.now()
    if (!this.shutdown) this.admitRowGroups()
    let dispatched = 0
    if (!this.shutdown) {
      this.retries.takeDue(now, (task) => {
        this.runtimeLimitOf(task)?.waitingForReopen.delete(task)
        if (this.listening()) {
          this.publish({
            type: "retry_redispatched",
            at: now,
            taskId: task.id,
            column: this.columns[task.generator]!.name,
            attempt: task.attempts + 1
          })
        }
        this.queue.enqueue(task)
      })
      dispatched = this.dispatch(now)
    } else if (this.running === 0) {
      this.finishShutdown()
    }
    const idle = this.running === 0 && this.toCheckpoint.length === 0
    const done = idle && this.active.size === 0 && (this.planExhausted || this.shutdown)
    const deadlock = !done && idle && dispatched === 0 && !this.shutdown && this.retries.size === 0 &&
      !this.runtimeLimits.some((l) => !l.open)
    const more = dispatched >= this.options.dispatchBatch && this.queue.size > 0
    return { done, deadlock, more, nextDueAt: this.shutdown ? undefined : this.retries.nextDueAt() }
  }

  /** The next row group of the plan that an earlier run did not already checkpoint (those count as resumed). */
  private nextPlannedRowGroup(): { readonly id: number; readonly firstRow: number; readonly size: number } | undefined {
    while (!this.planExhausted) {
      const id = this.nextRowGroup++
      const firstRow = id * this.options.bufferSize
      const size = Math.min(this.options.bufferSize, this.options.rows - firstRow)
      if (!this.options.resumed.has(id)) return { id, firstRow, size }
      this.rowsResumed += size
    }
    return undefined
  }

  private admitRowGroups(): void {
    while (this.active.size < this.options.maxConcurrentRowGroups) {
      const planned = this.nextPlannedRowGroup()
      if (planned === undefined) return
      const { id, firstRow, size } = planned
      const rg = new RowGroup(id, size, firstRow, this.graph)
      this.active.set(id, rg)
      if (this.listening()) this.publish({ type: "row_group_admitted", at: this.now(), rowGroup: id, size })
      rg.roots((g, r) => this.offer(rg, g, r))
    }
  }

  /** A task became ready: index it and put it in the ready queue. */
  private offer(rg: RowGroup, generator: number, rowIndex: number): void {
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
    if (this.listening()) {
      this.publish({ type: "ready_enqueued", at: task.readyAt, taskId: id, column: this.columns[generator]!.name })
    }
  }

  private dispatch(now: number): number {
    let dispatched = 0
    const peers: Array<number> = []
    let reasons: Record<string, number> | undefined
    const eligible = (task: Task): boolean => {
      const reason: DenyReason | undefined = this.ledger.evaluate(task.generator, peers)
      if (reason !== undefined && reasons !== undefined) reasons[reason] = (reasons[reason] ?? 0) + 1
      return reason === undefined
    }
    while (this.queue.size > 0 && dispatched < this.options.dispatchBatch) {
      peers.length = 0
      for (let g = 0; g < this.generators.length; g++) if (this.queue.queuedIn(g) > 0) peers.push(g)
      reasons = this.listening() ? {} : undefined
      const task = this.queue.select(eligible)
      if (task === undefined) {
        if (reasons !== undefined) {
          this.publish({
            type: reasons["group_cap"] !== undefined ? "group_capped" : "admission_blocked",
            at: now,
            queued: this.queue.size,
            reasons
          })
        }
        break
      }
      // select → acquire → commit → spawn, with no yield in between.
      this.ledger.acquire(task.generator)
      this.queue.commit(task)
      task.state = "running"
      task.dispatch++
      this.running++
      dispatched++
      const column = this.columns[task.generator]!.name
      if (this.listening()) {
        this.publish({ type: "selected", at: now, taskId: task.id, column })
        this.publish({
          type: "task_lease_acquired",
          at: now,
          taskId: task.id,
          column,
          resources: this.resourceNames(task)
        })
        this.publish({ type: "worker_spawned", at: now, taskId: task.id, column })
      }
      this.spawn({ task, dispatch: task.dispatch, input: this.inputOf(task) })
    }
    return dispatched
  }

  private resourceNames(task: Task): ReadonlyArray<string> {
    return this.generators[task.generator]!.resources.map((r) => this.resourceKeys[r]!)
  }

  private inputOf(task: Task): CellInput | BatchInput {
    const rg = this.active.get(task.rowGroup)!
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
      if (rg.isDropped(r)) continue
      rowIndexes.push(r)
      rows.push({ ...rg.values[r] })
    }
    return { rowGroup: rg.id, firstRow: rg.firstRow, rowIndexes, rows }
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Worker completion

  /**
   * Applies a worker's exit: releases its task lease exactly once (success, failure, defect or interruption),
   * records the outcome, and either completes the task, schedules a retry, or drops its row(s).
   */
  complete(
    task: Task,
    dispatch: number,
    input: CellInput | BatchInput,
    exit: Exit.Exit<unknown, GenerationFailure> | "interrupted",
    jitter: number
  ): void {
    // Exactly once per dispatch: a late exit of an earlier attempt never touches the current one.
    if (!this.isRunning(task, dispatch)) return
    const now = this.now()
    const column = this.columns[task.generator]!.name
    this.running--
    this.ledger.release(task.generator)
    if (this.listening()) {
      this.publish({
        type: "task_lease_released",
        at: now,
        taskId: task.id,
        column,
        resources: this.resourceNames(task)
      })
    }
    const rg = this.active.get(task.rowGroup)!
    if (exit === "interrupted" || (Exit.isFailure(exit) && Cause.hasInterruptsOnly(exit.cause))) {
      this.end(task, rg)
      if (this.listening()) this.publish({ type: "cancelled", at: now, taskId: task.id, column })
      return
    }
    const rowGone = task.rowIndex >= 0 ? rg.isDropped(task.rowIndex) : rg.droppedCount === rg.size
    if (rowGone) {
      // The row was dropped while this task ran: its result is discarded and counts as nothing.
      this.end(task, rg)
      if (this.listening()) {
        this.publish({ type: "task_completed", at: now, taskId: task.id, column, outcome: "row_dropped", rows: 0 })
      }
      this.afterChange(rg)
      return
    }
    let failure: GenerationFailure | undefined
    let defect: unknown
    let rows = 0
    if (Exit.isSuccess(exit)) {
      const applied = this.applyResult(task, rg, input, exit.value)
      if (typeof applied === "number") rows = applied
      else failure = applied
    } else {
      const error = Cause.findErrorOption(exit.cause)
      if (error._tag === "Some") failure = error.value
      else defect = Cause.squash(exit.cause)
    }
    if (failure === undefined && defect === undefined) {
      this.end(task, rg)
      this.count("success")
      this.cellsCompleted += rows
      this.window.record(false)
      if (this.listening()) {
        this.publish({ type: "task_completed", at: now, taskId: task.id, column, outcome: "success", rows })
      }
      if (task.rowIndex >= 0) rg.completeCell(task.generator, task.rowIndex, (g, r) => this.offer(rg, g, r))
      else rg.completeFull(task.generator, (g, r) => this.offer(rg, g, r))
      this.afterChange(rg)
      return
    }
    this.fail(task, rg, failure, defect, now, jitter)
    this.afterChange(rg)
  }

  isRunning(task: Task, dispatch: number): boolean {
    return task.state === "running" && task.dispatch === dispatch
  }

  /**
   * Writes a successful result into the row group and returns the rows written; a malformed batch result becomes
   * a generator failure.
   */
  private applyResult(
    task: Task,
    rg: RowGroup,
    input: CellInput | BatchInput,
    value: unknown
  ): GenerationFailure | number {
    const outputs = this.graph.nodes[task.generator]!.outputs
    if (task.rowIndex >= 0) {
      writeOutputs(rg.values[task.rowIndex]!, value as RowValues, outputs)
      return 1
    }
    const batch = input as BatchInput
    const rows = value as ReadonlyArray<RowValues>
    if (!Array.isArray(rows) || rows.length !== batch.rowIndexes.length) {
      return new GeneratorError({
        message: `Full column "${this.columns[task.generator]!.name}" returned ${
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

  private fail(
    task: Task,
    rg: RowGroup,
    failure: GenerationFailure | undefined,
    defect: unknown,
    now: number,
    jitter: number
  ): void {
    const column = this.columns[task.generator]!.name
    task.attempts++
    let kind: DropKind
    let policy: "preserve" | "retry" | "fail"
    if (failure === undefined) {
      kind = "generator_defect"
      policy = "fail"
    } else if (isModelError(failure)) {
      kind = modelErrorKindOf(failure)
      policy = retryPolicyOf(failure)
    } else {
      kind = "generator_failure"
      policy = failure.retryable === true ? "retry" : "fail"
    }
    if (failure !== undefined) task.lastError = failure
    this.count(kind)
    const message = failure !== undefined ? firstLine(failure.message) : firstLine(String(defect))
    if (policy === "preserve") {
      if (task.preserveSince < 0) task.preserveSince = now
      const deadline = this.options.preserveDeadlineMs
      if (deadline !== undefined && now - task.preserveSince >= deadline) {
        this.logs.push(
          `Dropping ${task.id} after ${
            now - task.preserveSince
          } ms of ${kind} failures (preserve deadline ${deadline} ms, ${task.attempts} attempts)`
        )
        this.dropFor(task, rg, {
          kind: "preserve_deadline_exceeded",
          column,
          attempts: task.attempts,
          ...(failure === undefined ? {} : { error: failure }),
          message: `Still failing with ${kind} after the preserve deadline of ${deadline} ms: ${message}`
        })
        return
      }
      const dueAt = Math.ceil(now + this.retryDelay(task, failure, jitter))
      this.retries.schedule(task, dueAt)
      if (kind === "rate_limit") this.runtimeLimitOf(task)?.waitingForReopen.add(task)
      if (this.listening()) {
        this.publish({
          type: "preserved_retryable",
          at: now,
          taskId: task.id,
          column,
          kind,
          attempt: task.attempts,
          eligibleAt: dueAt
        })
      }
      return
    }
    if (policy === "retry" && task.attempts < this.options.maxAttempts) {
      task.preserveSince = -1
      const dueAt = Math.ceil(now + this.retryDelay(task, failure, jitter))
      this.retries.schedule(task, dueAt)
      if (this.listening()) {
        this.publish({
          type: "retry_deferred",
          at: now,
          taskId: task.id,
          column,
          kind,
          attempt: task.attempts,
          eligibleAt: dueAt
        })
      }
      return
    }
    if (policy === "fail") this.window.record(true)
    this.dropFor(task, rg, {
      kind,
      column,
      attempts: task.attempts,
      ...(failure === undefined ? {} : { error: failure }),
      message
    })
  }

  /**
   * Retry-After when the provider sent one, else the resource's remaining cooldown, else jittered backoff. A local
   * admission timeout re-enters the ready queue at once: the live `request:` gate already holds it back until the
   * request layer has room, which is the signal it was waiting for (a timer would only add latency).
   */
  private retryDelay(task: Task, failure: GenerationFailure | undefined, jitter: number): number {
    if (failure !== undefined && failure._tag === "ModelRequestAdmissionTimeoutError") return 0
    const retryAfter = failure !== undefined && isModelError(failure) ? failure.retryAfterSeconds : undefined
    if (retryAfter !== undefined && retryAfter > 0) return retryAfter * 1000
    const resource = this.generators[task.generator]!.requestResource
    if (resource !== undefined) {
      const view = this.runtimeLimitOf(task)?.domains.get(resource.domain)
      const now = this.now()
      if (
        view !== undefined && !view.open && typeof view.blockedUntilMillis === "number" && view.blockedUntilMillis > now
      ) {
        return view.blockedUntilMillis - now
      }
    }
    const exp = Math.min(this.options.maxDelayMs, this.options.baseDelayMs * 2 ** Math.max(0, task.attempts - 1))
    return exp * (0.5 + jitter)
  }

  private dropFor(task: Task, rg: RowGroup, cause: DropCause): void {
    this.end(task, rg)
    if (this.listening()) {
      this.publish({
        type: "task_completed",
        at: this.now(),
        taskId: task.id,
        column: this.columns[task.generator]!.name,
        outcome: cause.kind,
        rows: 0
      })
    }
    if (task.rowIndex >= 0) this.dropRow(rg, task.rowIndex, cause)
    else for (let r = 0; r < rg.size; r++) this.dropRow(rg, r, cause)
  }

  /** Drops a row and purges every queued or retrying task of it: they are neither run nor counted. */
  dropRow(rg: RowGroup, rowIndex: number, cause: DropCause): void {
    if (!rg.drop(rowIndex, (g, r) => this.offer(rg, g, r))) return
    this.droppedRows.push({ rowGroup: rg.id, row: rg.firstRow + rowIndex, cause })
    this.dropCauses[cause.kind] = (this.dropCauses[cause.kind] ?? 0) + 1
    if (this.listening()) {
      this.publish({
        type: "row_dropped",
        at: this.now(),
        rowGroup: rg.id,
        row: rg.firstRow + rowIndex,
        kind: cause.kind,
        ...(cause.column === undefined ? {} : { column: cause.column })
      })
    }
    for (let g = 0; g < this.graph.nodes.length; g++) {
      if (this.graph.nodes[g]!.strategy === "cell") {
        this.purge(rg, taskId({ column: this.columns[g]!.name, rowGroup: rg.id, rowIndex, type: "cell" }))
      } else if (rg.droppedCount === rg.size) {
        const type = this.isRoot[g] ? "from_scratch" : "batch"
        this.purge(rg, taskId({ column: this.columns[g]!.name, rowGroup: rg.id, rowIndex: null, type }))
      }
    }
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

  private end(task: Task, rg: RowGroup): void {
    task.state = "done"
    this.tasks.delete(task.id)
    rg.live--
  }

  private afterChange(rg: RowGroup): void {
    if (this.window.tripped) this.shutdown = true
    if (!rg.checkpointing && rg.isComplete()) {
      rg.checkpointing = true
      this.toCheckpoint.push(rg)
    }
    this.wake()
  }

  private count(kind: string): void {
    this.outcomes[kind] = (this.outcomes[kind] ?? 0) + 1
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Early shutdown, checkpoints, capacity

  /**
   * After early shutdown and once no worker runs: every unfinished row of an admitted row group is dropped with
   * `early_shutdown` (their queued and retrying tasks purged), finished rows are checkpointed, and rows of row
   * groups never admitted are recorded as dropped too, so every requested row has an outcome.
   */
  private finishShutdown(): void {
    const cause: DropCause = {
      kind: "early_shutdown",
      message: "Early shutdown: non-retryable failure rate reached the threshold"
    }
    for (const rg of this.active.values()) {
      for (let r = 0; r < rg.size; r++) if (!rg.isRowComplete(r)) this.dropRow(rg, r, cause)
      if (!rg.checkpointing && rg.isComplete()) {
        rg.checkpointing = true
        this.toCheckpoint.push(rg)
      }
    }
    for (let planned = this.nextPlannedRowGroup(); planned !== undefined; planned = this.nextPlannedRowGroup()) {
      const { id, firstRow, size } = planned
      for (let r = 0; r < size; r++) this.droppedRows.push({ rowGroup: id, row: firstRow + r, cause })
      this.dropCauses.early_shutdown = (this.dropCauses.early_shutdown ?? 0) + size
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
    this.active.delete(rg.id)
    const surviving = rg.size - rg.droppedCount
    this.rowsCompleted += surviving
    this.checkpointed++
    this.checkpointedRows += rg.size
    if (this.listening()) {
      this.publish({
        type: "row_group_checkpointed",
        at: this.now(),
        rowGroup: rg.id,
        size: rg.size,
        survivingRows: surviving,
        droppedRows: rg.droppedCount
      })
    }
  }

  private runtimeLimitOf(task: Task): RuntimeLimit | undefined {
    const resource = this.generators[task.generator]!.requestResource
    return resource === undefined
      ? undefined
      : this.runtimeByLabel.get(providerModelLabel(toProviderModelKey(resource)))
  }

  /**
   * The request layer changed a resource's capacity: the task-stage limit follows it at once. When the endpoint
   * reopens (its cooldown ended, possibly early because a probe succeeded), the tasks that were waiting out its
   * rate limit become due now: their Retry-After was about that cooldown.
   */
  onCapacity(view: RequestCapacityView, wake = true): void {
    const limit = this.runtimeByLabel.get(providerModelLabel(toProviderModelKey(view.resource)))
    if (view.waiters > this.maxRequestWaiters) this.maxRequestWaiters = view.waiters
    if (limit === undefined) return
    limit.domains.set(view.resource.domain, view)
    let current = limit.staticLimit
    let open = true
    for (const v of limit.domains.values()) {
      if (!v.open) open = false
      current = Math.min(current, v.limit)
    }
    const reopened = open && !limit.open
    limit.current = current
    limit.open = open
    limit.minObserved = Math.min(limit.minObserved, current)
    if (reopened && limit.waitingForReopen.size > 0) {
      const now = this.now()
      for (const task of limit.waitingForReopen) this.retries.expedite(task, now)
      limit.waitingForReopen.clear()
    }
    this.ledger.setLimit(limit.index, open ? current : 0)
    if (wake) this.wake()
  }
}

const writeOutputs = (target: Record<string, unknown>, value: RowValues, outputs: ReadonlyArray<string>): void => {
  if (value === null || typeof value !== "object") return
  for (const output of outputs) if (Object.hasOwn(value, output)) target[output] = value[output]
}

const firstLine = (text: string): string => {
  const i = text.indexOf("\n")
  return i < 0 ? text : text.slice(0, i)
}
