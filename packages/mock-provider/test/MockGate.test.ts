import { assert, describe, it } from "@effect/vitest"
import { Clock, Effect } from "effect"
import { TestClock } from "effect/testing"
import { makeMockGate } from "../src/MockGate.js"

describe("mock gate", () => {
  it.effect("capacity: a rejected request takes no slot, a released slot is reusable", () =>
    Effect.sync(() => {
      const gate = makeMockGate({ capacity: 2, retryAfterSeconds: 4, rpm: null }, 0)
      assert.strictEqual(gate.tryAdmit(0)._tag, "Admitted")
      assert.strictEqual(gate.tryAdmit(0)._tag, "Admitted")
      assert.deepStrictEqual(gate.tryAdmit(0), { _tag: "Rejected", reason: "capacity", retryAfterSeconds: 4 })
      assert.strictEqual(gate.inFlight(), 2)
      gate.release()
      assert.strictEqual(gate.tryAdmit(0)._tag, "Admitted")
      assert.strictEqual(gate.maxConcurrent(), 2)
    }))

  it.effect("rpm: burst of one second, continuous refill on the Clock, Retry-After = ceil(seconds to next token)", () =>
    Effect.gen(function*() {
      // 30 rpm: burst max(1, 0.5) = 1 token, one token every 2 s
      const gate = makeMockGate({ capacity: 100, retryAfterSeconds: 1, rpm: 30 }, yield* Clock.currentTimeMillis)
      const admit = Effect.map(Clock.currentTimeMillis, (now) => gate.tryAdmit(now))
      assert.strictEqual((yield* admit)._tag, "Admitted")
      assert.deepStrictEqual(yield* admit, { _tag: "Rejected", reason: "rpm", retryAfterSeconds: 2 })
      yield* TestClock.adjust("1500 millis")
      assert.deepStrictEqual(yield* admit, { _tag: "Rejected", reason: "rpm", retryAfterSeconds: 1 })
      yield* TestClock.adjust("500 millis")
      assert.strictEqual((yield* admit)._tag, "Admitted")
      // a long idle period refills only up to the burst
      yield* TestClock.adjust("1 minute")
      assert.strictEqual((yield* admit)._tag, "Admitted")
      assert.strictEqual((yield* admit)._tag, "Rejected")
      // rpm rejections do not occupy slots
      assert.strictEqual(gate.inFlight(), 3)
    }))

  it.effect("rpm: 1200 rpm allows a burst of 20, then 20 per second", () =>
    Effect.gen(function*() {
      const gate = makeMockGate({ capacity: 1000, retryAfterSeconds: 1, rpm: 1200 }, yield* Clock.currentTimeMillis)
      const burst = Array.from({ length: 25 }, () => gate.tryAdmit(0)._tag)
      assert.strictEqual(burst.filter((t) => t === "Admitted").length, 20)
      yield* TestClock.adjust("1 second")
      const next = Array.from({ length: 25 }, () => gate.tryAdmit(1000)._tag)
      assert.strictEqual(next.filter((t) => t === "Admitted").length, 20)
    }))

  it.effect("capacity is checked before the bucket, so a full server does not burn tokens", () =>
    Effect.sync(() => {
      const gate = makeMockGate({ capacity: 1, retryAfterSeconds: 1, rpm: 120 }, 0)
      assert.strictEqual(gate.tryAdmit(0)._tag, "Admitted")
      const rejected = gate.tryAdmit(0)
      assert.strictEqual(rejected._tag === "Rejected" && rejected.reason, "capacity")
      gate.release()
      assert.strictEqual(gate.tryAdmit(0)._tag, "Admitted") // the second of the 2 burst tokens is still there
    }))
})
