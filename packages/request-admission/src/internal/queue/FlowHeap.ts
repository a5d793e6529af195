/**
 * An indexed binary min-heap of waiter flows ordered by (virtual start tag, activation sequence).
 * Each flow remembers its slot, so removal and re-keying are O(log n) — the anchor's heap only ever
 * grew and was re-heapified on every selection.
 */

export interface HeapEntry {
  tag: number
  seq: number
  heapIndex: number
}

const before = (a: HeapEntry, b: HeapEntry): boolean => a.tag < b.tag || (a.tag === b.tag && a.seq < b.seq)

export class FlowHeap<A extends HeapEntry> {
  private readonly items: Array<A> = []

  get size(): number {
    return this.items.length
  }

  peek(): A | undefined {
    return this.items[0]
  }

  push(entry: A): void {
    entry.heapIndex = this.items.length
    this.items.push(entry)
    this.up(entry.heapIndex)
  }

  remove(entry: A): void {
    const index = entry.heapIndex
    if (index < 0 || this.items[index] !== entry) return
    const last = this.items.pop()!
    entry.heapIndex = -1
    if (index < this.items.length) {
      this.items[index] = last
      last.heapIndex = index
      this.up(index)
      this.down(last.heapIndex)
    }
  }

  /** Restores order after `entry.tag`/`entry.seq` changed. */
  update(entry: A): void {
    if (entry.heapIndex < 0) return
    this.up(entry.heapIndex)
    this.down(entry.heapIndex)
  }

  private up(index: number): void {
    const items = this.items
    const entry = items[index]!
    while (index > 0) {
      const parentIndex = (index - 1) >> 1
      const parent = items[parentIndex]!
      if (!before(entry, parent)) break
      items[index] = parent
      parent.heapIndex = index
      index = parentIndex
    }
    items[index] = entry
    entry.heapIndex = index
  }

  private down(index: number): void {
    const items = this.items
    const length = items.length
    const entry = items[index]!
    while (true) {
      const left = 2 * index + 1
      if (left >= length) break
      const right = left + 1
      const child = right < length && before(items[right]!, items[left]!) ? right : left
      if (!before(items[child]!, entry)) break
      items[index] = items[child]!
      items[index]!.heapIndex = index
      index = child
    }
    items[index] = entry
    entry.heapIndex = index
  }
}
