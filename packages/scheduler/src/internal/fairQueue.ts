import { Fifo, MinHeap } from "./heap.js"
import type { Task } from "./task.js"

interface Entry {
  readonly group: number
  readonly finish: number
  readonly seq: number
}

/**
 * The ready queue: one FIFO per task group, groups ordered by virtual finish time (weighted fair queueing).
 * Committing a group's head advances its finish by 1/weight; an idle group that returns resumes at its old finish
 * (served first) but gains no further credit. Only group heads are candidates. Heap operations are O(log G) and
 * the heap holds at most one entry per group with queued work, so ordering state is bounded by active groups.
 */
export class FairQueue {
  private readonly fifos: Array<Fifo<Task>>
  private readonly queued: Array<number>
  private readonly finish: Array<number | undefined>
  /** Sequence of the group's live heap entry, or -1 when it has none. */
  private readonly entrySeq: Array<number>
  private readonly heap = new MinHeap<Entry>((a, b) => a.finish < b.finish || (a.finish === b.finish && a.seq < b.seq))
  private virtualTime = 0
  private seq = 0
  /** Entries `select` passed over, pushed back before it returns (kept to spare an array per call). */
  private readonly skipped: Array<Entry> = []
  size = 0

  constructor(private readonly weights: ReadonlyArray<number>) {
    this.fifos = weights.map(() => new Fifo<Task>())
    this.queued = weights.map(() => 0)
    this.finish = weights.map(() => undefined)
    this.entrySeq = weights.map(() => -1)
  }

  enqueue(task: Task): void {
    task.state = "queued"
    this.fifos[task.generator]!.push(task)
    this.queued[task.generator]!++
    this.size++
    this.activate(task.generator)
  }

  /** Removes a queued task (lazily: its FIFO slot is skipped when it reaches the head). */
  discard(task: Task): void {
    if (task.state !== "queued") return
    task.state = "discarded"
    this.queued[task.generator]!--
    this.size--
  }

  queuedIn(group: number): number {
    return this.queued[group]!
  }

  /** The group's first queued task, purging discarded heads. */
  head(group: number): Task | undefined {
    const fifo = this.fifos[group]!
    let task = fifo.peek()
    while (task !== undefined && task.state !== "queued") {
      fifo.shift()
      task = fifo.peek()
    }
    return task
  }

  /**
   * The head of the first group, in (finish, activation) order, whose head is eligible. The chosen group's
   * ordering entry is taken out; the caller commits it in the same synchronous step (eligibility already
   * includes admission, so select → acquire → commit cannot fail in between).
   */
  select(eligible: (task: Task) => boolean): Task | undefined {
    const skipped = this.skipped
    let chosen: Task | undefined
    for (;;) {
      const entry = this.heap.pop()
      if (entry === undefined) break
      if (this.entrySeq[entry.group] !== entry.seq) continue
      const head = this.head(entry.group)
      if (head === undefined) {
        this.entrySeq[entry.group] = -1
        continue
      }
      if (eligible(head)) {
        this.entrySeq[entry.group] = -1
        chosen = head
        break
      }
      skipped.push(entry)
    }
    for (const entry of skipped) this.heap.push(entry)
    skipped.length = 0
    return chosen
  }

  /** Pops the selected head and advances its group's virtual finish time. */
  commit(task: Task): void {
    const group = task.generator
    this.fifos[group]!.shift()
    this.queued[group]!--
    this.size--
    const finish = this.finish[group] ?? this.virtualTime
    this.virtualTime = Math.max(this.virtualTime, finish)
    this.finish[group] = this.virtualTime + 1 / Math.max(1, this.weights[group]!)
    this.activate(group)
  }

  private activate(group: number): void {
    if (this.entrySeq[group] !== -1 || this.queued[group] === 0) return
    const seq = ++this.seq
    this.entrySeq[group] = seq
    this.heap.push({ group, finish: this.finish[group] ?? this.virtualTime, seq })
  }

  /** Internal sizes, for bounded-memory tests. */
  stats(): { readonly queued: number; readonly heapEntries: number; readonly fifoSlots: number } {
    let fifoSlots = 0
    for (const fifo of this.fifos) fifoSlots += fifo.capacity
    return { queued: this.size, heapEntries: this.heap.size, fifoSlots }
  }
}
