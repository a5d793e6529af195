import { assert, describe, it } from "@effect/vitest"
import { DeadlineQueue } from "../../src/client/DeadlineQueue.js"

class Entry {
  settled = false
  constructor(readonly name: string, readonly deadline: number) {}
}

const expired = (queue: DeadlineQueue<Entry>, now: number): Array<string> => {
  const names: Array<string> = []
  queue.expireDue(now, (entry) => names.push(entry.name))
  return names
}

describe("DeadlineQueue", () => {
  it("expires what is due, in deadline order per lane, and nothing settled", () => {
    const queue = new DeadlineQueue<Entry>()
    const a = new Entry("a", 1000)
    const b = new Entry("b", 1010)
    const c = new Entry("c", 1020)
    for (const e of [a, b, c]) queue.add(e, 1000)
    b.settled = true
    assert.strictEqual(queue.earliest(), 1000)
    assert.deepStrictEqual(expired(queue, 999), [])
    assert.deepStrictEqual(expired(queue, 1015), ["a"])
    // b was settled: skipped and dropped on the way to c.
    assert.strictEqual(queue.earliest(), 1020)
    assert.deepStrictEqual(expired(queue, 5000), ["c"])
    assert.strictEqual(queue.earliest(), undefined)
    assert.strictEqual(queue.size, 0)
  })

  it("a shorter timeout added later is the earliest deadline", () => {
    const queue = new DeadlineQueue<Entry>()
    queue.add(new Entry("long", 10_000), 10_000)
    queue.add(new Entry("short", 1_100), 1_000)
    assert.strictEqual(queue.earliest(), 1_100)
    assert.deepStrictEqual(expired(queue, 1_100), ["short"])
    assert.strictEqual(queue.earliest(), 10_000)
    assert.deepStrictEqual(expired(queue, 10_000), ["long"])
  })

  it("settled entries leave as new ones arrive: the queue holds about what is in flight", () => {
    const queue = new DeadlineQueue<Entry>()
    const inFlight: Array<Entry> = []
    for (let i = 0; i < 100_000; i++) {
      const entry = new Entry(`e${i}`, 60_000 + i)
      queue.add(entry, 60_000)
      inFlight.push(entry)
      // 32 in flight: the oldest finishes as each new one starts.
      if (inFlight.length > 32) inFlight.shift()!.settled = true
    }
    assert.isAtMost(queue.size, 33)
    assert.strictEqual(queue.earliest(), inFlight[0]!.deadline)
    for (const entry of inFlight) entry.settled = true
    assert.strictEqual(queue.earliest(), undefined)
    assert.strictEqual(queue.size, 0)
  })

  it("one entry that never settles holds the ones behind it until it expires", () => {
    const queue = new DeadlineQueue<Entry>()
    const hung = new Entry("hung", 60_000)
    queue.add(hung, 60_000)
    for (let i = 1; i <= 5000; i++) {
      const entry = new Entry(`e${i}`, 60_000 + i)
      queue.add(entry, 60_000)
      entry.settled = true
    }
    assert.strictEqual(queue.size, 5001)
    assert.deepStrictEqual(expired(queue, 60_000), ["hung"])
    // Expiring the front lets the settled ones behind it go.
    assert.strictEqual(queue.earliest(), undefined)
    assert.strictEqual(queue.size, 0)
  })
})
