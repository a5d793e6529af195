import type { ExecutionGraph } from "./graph.js"

const PENDING = 0
const ACTIVE = 1
const DONE = 2

/**
 * Completion state of one admitted row group: which generator is done on which row, which rows are dropped, the
 * row values, and how many tasks of the group are alive. Readiness is evaluated incrementally from completions
 * and drops; a task is created for a (generator, row) at most once while it is pending.
 */
export class RowGroup {
  readonly values: Array<Record<string, unknown>>
  readonly dropped: Uint8Array
  droppedCount = 0
  /** Tasks of this group queued, running or waiting for a retry. */
  live = 0
  /** Handed to the checkpoint sink (set once, so a row group is never written twice). */
  checkpointing = false
  /**
   * While the pre-batch processors have not run: the ready non-seed tasks held back, as (generator, row index)
   * pairs. Undefined without pre-batch processors, and once they ran.
   */
  parked: Array<number> | undefined
  /** Queued for its pre-batch processors (set once). */
  preBatchQueued = false
  /** Per generator, the rows whose cell was skipped; only allocated when some column can skip. */
  private readonly skipped: Array<Uint8Array> | undefined
  /** Rows one of whose tasks has been dispatched (a full-column task starts every row). */
  private readonly started: Uint8Array
  private readonly cellState: Array<Uint8Array | undefined>
  /** Per cell generator: rows neither done nor dropped. */
  private readonly remaining: Array<number>
  private readonly fullState: Array<number>

  constructor(
    readonly id: number,
    readonly size: number,
    readonly firstRow: number,
    private readonly graph: ExecutionGraph,
    options: { readonly skips: boolean; readonly preBatch: boolean }
  ) {
    this.values = Array.from({ length: size }, () => ({}))
    this.dropped = new Uint8Array(size)
    this.started = new Uint8Array(size)
    this.cellState = graph.nodes.map((n) => (n.strategy === "cell" ? new Uint8Array(size) : undefined))
    this.remaining = graph.nodes.map((n) => (n.strategy === "cell" ? size : 0))
    this.fullState = graph.nodes.map(() => PENDING)
    this.skipped = options.skips ? graph.nodes.map(() => new Uint8Array(size)) : undefined
    if (options.preBatch) this.parked = []
  }

  isSkipped(generator: number, rowIndex: number): boolean {
    return this.skipped !== undefined && this.skipped[generator]![rowIndex] === 1
  }

  markSkipped(generator: number, rowIndex: number): void {
    this.skipped![generator]![rowIndex] = 1
    this.started[rowIndex] = 1
  }

  /** Root tasks: one per row for cell roots, one `from_scratch` for full roots. */
  roots(emit: (generator: number, rowIndex: number) => void): void {
    for (const g of this.graph.roots) {
      if (this.graph.nodes[g]!.strategy === "cell") {
        for (let r = 0; r < this.size; r++) this.tryCell(g, r, emit)
      } else {
        this.tryFull(g, emit)
      }
    }
  }

  isDropped(rowIndex: number): boolean {
    return this.dropped[rowIndex] === 1
  }

  /** A task of this row (`rowIndex` ≥ 0) or of the whole row group (-1) was dispatched. */
  markStarted(rowIndex: number): void {
    if (rowIndex >= 0) this.started[rowIndex] = 1
    else this.started.fill(1)
  }

  isStarted(rowIndex: number): boolean {
    return this.started[rowIndex] === 1
  }

  /** A cell task finished: record it and offer every downstream task it unblocks. */
  completeCell(generator: number, rowIndex: number, emit: (generator: number, rowIndex: number) => void): void {
    const state = this.cellState[generator]!
    if (state[rowIndex] === DONE) return
    state[rowIndex] = DONE
    if (this.dropped[rowIndex] === 0) this.remaining[generator]!--
    if (this.dropped[rowIndex] === 1) return
    for (const d of this.graph.nodes[generator]!.downstream) {
      if (this.graph.nodes[d]!.strategy === "cell") this.tryCell(d, rowIndex, emit)
      else if (this.remaining[generator] === 0) this.tryFull(d, emit)
    }
  }

  /** A full-column task finished: every row now has its outputs. */
  completeFull(generator: number, emit: (generator: number, rowIndex: number) => void): void {
    this.fullState[generator] = DONE
    for (const d of this.graph.nodes[generator]!.downstream) {
      if (this.graph.nodes[d]!.strategy === "cell") {
        for (let r = 0; r < this.size; r++) this.tryCell(d, r, emit)
      } else {
        this.tryFull(d, emit)
      }
    }
  }

  /** Every generator has produced this row's outputs. */
  isRowComplete(rowIndex: number): boolean {
    for (const node of this.graph.nodes) {
      if (
        node.strategy === "cell"
          ? this.cellState[node.index]![rowIndex] !== DONE
          : this.fullState[node.index] !== DONE
      ) {
        return false
      }
    }
    return true
  }

  /**
   * Drops a row: its pending cells can never run; full columns that were only waiting for this row become ready.
   * Returns false if it was already dropped.
   */
  drop(rowIndex: number, emit: (generator: number, rowIndex: number) => void): boolean {
    if (this.dropped[rowIndex] === 1) return false
    this.dropped[rowIndex] = 1
    this.droppedCount++
    for (const node of this.graph.nodes) {
      if (node.strategy === "cell" && this.cellState[node.index]![rowIndex] !== DONE) this.remaining[node.index]!--
    }
    if (this.droppedCount < this.size) {
      for (const g of this.graph.topologicalOrder) {
        if (this.graph.nodes[g]!.strategy === "full") this.tryFull(g, emit)
      }
    }
    return true
  }

  /** Every surviving row has every generator's outputs and no task of the group is alive. */
  isComplete(): boolean {
    if (this.live > 0) return false
    if (this.droppedCount === this.size) return true
    for (const node of this.graph.nodes) {
      if (node.strategy === "cell" ? this.remaining[node.index]! > 0 : this.fullState[node.index] !== DONE) return false
    }
    return true
  }

  private tryCell(g: number, r: number, emit: (generator: number, rowIndex: number) => void): void {
    const state = this.cellState[g]!
    if (state[r] !== PENDING || this.dropped[r] === 1) return
    const node = this.graph.nodes[g]!
    for (const u of node.fullUpstream) if (this.fullState[u] !== DONE) return
    for (const u of node.cellUpstream) if (this.cellState[u]![r] !== DONE) return
    state[r] = ACTIVE
    emit(g, r)
  }

  private tryFull(g: number, emit: (generator: number, rowIndex: number) => void): void {
    if (this.fullState[g] !== PENDING || this.droppedCount === this.size) return
    const node = this.graph.nodes[g]!
    for (const u of node.fullUpstream) if (this.fullState[u] !== DONE) return
    for (const u of node.cellUpstream) if (this.remaining[u]! > 0) return
    this.fullState[g] = ACTIVE
    emit(g, -1)
  }
}
