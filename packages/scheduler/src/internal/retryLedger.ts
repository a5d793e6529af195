import { MinHeap } from "./heap.js"
import type { Task } from "./task.js"

interface Entry {
  readonly task: Task
  readonly dueAt: number
  readonly seq: number
}

/**
 * Failed tasks waiting for their next eligible time (Retry-After, the resource's cooldown, or backoff), as a
 * min-heap by due time. Due tasks go back to the ready queue through the normal path; there are no rounds and no
 * barrier, so other row groups keep flowing. Entries of tasks purged meanwhile (dropped rows), and entries
 * superseded by `expedite`, are skipped lazily.
 */
export class RetryLedger {
  private readonly heap = new MinHeap<Entry>((a, b) => a.dueAt < b.dueAt || (a.dueAt === b.dueAt && a.seq < b.seq))
  private seq = 0
  /** Live (not purged) entries. */
  size = 0

  schedule(task: Task, dueAt: number): void {
    task.state = "retrying"
    this.push(task, dueAt)
    this.size++
  }

  /** Makes a retrying task due at `now` (its resource reopened early); its older entry goes stale. */
  expedite(task: Task, now: number): void {
    if (task.state === "retrying") this.push(task, now)
  }

  private push(task: Task, dueAt: number): void {
    task.retryEntry = ++this.seq
    this.heap.push({ task, dueAt, seq: task.retryEntry })
  }

  /** A retrying task was purged (its row dropped): it no longer counts; its heap entry is skipped when due. */
  forget(task: Task): void {
    if (task.state === "retrying") {
      task.state = "discarded"
      this.size--
    }
  }

  /** Earliest due time among live entries, or undefined. */
  nextDueAt(): number | undefined {
    this.purgeHead()
    return this.heap.peek()?.dueAt
  }

  /** Pops every live task due at `now`. */
  takeDue(now: number, onDue: (task: Task) => void): void {
    for (;;) {
      this.purgeHead()
      const head = this.heap.peek()
      if (head === undefined || head.dueAt > now) return
      this.heap.pop()
      this.size--
      onDue(head.task)
    }
  }

  heapEntries(): number {
    return this.heap.size
  }

  private purgeHead(): void {
    let head = this.heap.peek()
    while (head !== undefined && (head.task.state !== "retrying" || head.seq !== head.task.retryEntry)) {
      this.heap.pop()
      head = this.heap.peek()
    }
  }
}
