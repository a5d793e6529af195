/** Something that expires at `deadline` (clock millis) unless its owner settles it first. */
export interface DeadlineEntry {
  readonly deadline: number
  /** Set by the owner once the entry can no longer expire; it is then skipped and dropped. */
  readonly settled: boolean
}

/** Entries of one timeout length, in arrival order: sorted by deadline by construction. */
interface Lane<E> {
  items: Array<E | undefined>
  head: number
}

/**
 * The deadlines of requests in flight, for a single watchdog: adding one is O(1), settling one is setting its flag,
 * and the watchdog asks for the earliest open deadline and expires what is due. Deadlines are kept in one FIFO lane
 * per timeout length (a handful per run), because requests of equal timeouts expire in the order they started.
 * Settled entries at the front of a lane are dropped as entries arrive, so a lane holds about the requests in flight
 * (plus whatever started after the oldest one still running).
 */
export class DeadlineQueue<E extends DeadlineEntry> {
  private readonly lanes = new Map<number, Lane<E>>()
  private count = 0

  /** Entries held, settled ones not yet dropped included. */
  get size(): number {
    return this.count
  }

  add(entry: E, timeoutMillis: number): void {
    let lane = this.lanes.get(timeoutMillis)
    if (lane === undefined) this.lanes.set(timeoutMillis, lane = { items: [], head: 0 })
    this.dropSettled(lane)
    lane.items.push(entry)
    this.count++
  }

  /** The earliest deadline of an entry not settled, if any (dropping the settled ones in front of it). */
  earliest(): number | undefined {
    let earliest: number | undefined
    for (const lane of this.lanes.values()) {
      this.dropSettled(lane)
      const first = lane.items[lane.head]
      if (first !== undefined && (earliest === undefined || first.deadline < earliest)) earliest = first.deadline
    }
    return earliest
  }

  /** Removes every entry due at `now`, calling `expire` for those not settled. */
  expireDue(now: number, expire: (entry: E) => void): void {
    for (const lane of this.lanes.values()) {
      for (
        let first = lane.items[lane.head];
        first !== undefined && (first.settled || first.deadline <= now);
        first = lane.items[lane.head]
      ) {
        this.shift(lane)
        if (!first.settled) expire(first)
      }
    }
  }

  private dropSettled(lane: Lane<E>): void {
    while (lane.items[lane.head]?.settled === true) this.shift(lane)
  }

  private shift(lane: Lane<E>): void {
    lane.items[lane.head] = undefined
    lane.head++
    this.count--
    if (lane.head === lane.items.length) {
      lane.items.length = 0
      lane.head = 0
    } else if (lane.head >= 1024 && lane.head * 2 >= lane.items.length) {
      // Reclaim the dropped front once it is most of the array.
      lane.items = lane.items.slice(lane.head)
      lane.head = 0
    }
  }
}
