import { assert, describe, it } from "@effect/vitest"
import { makeSlotHandOver } from "../src/SlotHandOver.js"

describe("slot hand-over", () => {
  it("the first wave counts as start-up, measured from the window's first request", () => {
    const slots = makeSlotHandOver(3)
    slots.taken(100)
    slots.taken(100.5)
    slots.taken(110)
    const stats = slots.stats()
    assert.strictEqual(stats.startupCount, 3)
    assert.strictEqual(stats.startupSlotMs, 10.5)
    assert.strictEqual(stats.count, 0)
  })

  it("a later request is timed from the most recently freed slot; slots never taken again are the tail", () => {
    const slots = makeSlotHandOver(2)
    slots.taken(0)
    slots.taken(0)
    slots.freed(50)
    slots.freed(60)
    slots.taken(60.2) // takes the slot freed at 60: 200 µs
    slots.freed(90)
    slots.taken(90.03) // 30 µs
    const stats = slots.stats()
    assert.strictEqual(stats.count, 2)
    assert.strictEqual(stats.meanMicros, 115)
    // the slot freed at 50 was never taken again: not a hand-over
    assert.isTrue(Math.abs(stats.p50Micros - 30) / 30 < 0.02, `p50 ${stats.p50Micros}`)
    assert.isTrue(Math.abs(stats.p90Micros - 200) / 200 < 0.02, `p90 ${stats.p90Micros}`)
  })

  it("capacity a client never uses is not an endless gap", () => {
    // a mock of capacity 10 behind a client capped at 2
    const slots = makeSlotHandOver(10)
    slots.taken(0)
    slots.taken(0)
    for (let t = 100; t <= 1000; t += 100) {
      slots.freed(t)
      slots.taken(t + 0.1)
    }
    const stats = slots.stats()
    assert.strictEqual(stats.startupCount, 2)
    assert.strictEqual(stats.count, 10)
    assert.isTrue(Math.abs(stats.meanMicros - 100) < 0.5, `mean ${stats.meanMicros}`)
  })

  it("reset starts a new window with the free slots it is given", () => {
    const slots = makeSlotHandOver(2)
    slots.taken(0)
    slots.freed(5)
    slots.taken(6)
    slots.reset(1) // one request still in service
    slots.taken(20)
    const stats = slots.stats()
    assert.strictEqual(stats.count, 0)
    assert.strictEqual(stats.startupCount, 1)
    assert.strictEqual(stats.startupSlotMs, 0)
  })
})
