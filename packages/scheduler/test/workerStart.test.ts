import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber } from "effect"
import { TestClock } from "effect/testing"
import { modelMetadata } from "@sluice/resolver"
import { makeScheduler } from "../src/index.js"
import { checkInvariants, memorySink } from "./helpers.js"

// A slot's turnaround is part of every call: a worker that waited one more event-loop turn before generating cost
// the `scale` benchmark ~1 ms per 20 ms call (0.91 → 0.98 of 25,600 calls/s once removed).
describe("workers start in the dispatcher's turn", () => {
  it.effect("dispatched generators have started when the dispatcher first yields; the next wave starts on completion", () =>
    Effect.gen(function*() {
      let started = 0
      const { sink, written } = memorySink()
      const scheduler = yield* makeScheduler({
        rows: 8,
        bufferSize: 8,
        sink,
        columns: [{
          name: "a",
          strategy: "cell",
          scheduling: modelMetadata("p", "m", "chat", 4),
          generate: () =>
            Effect.sync(() => void started++).pipe(Effect.andThen(Effect.sleep("1 second")), Effect.as({ a: 1 }))
        }]
      })
      const fiber = yield* Effect.forkChild(scheduler.run, { startImmediately: true })
      assert.strictEqual(started, 4)
      yield* TestClock.adjust("1 second")
      assert.strictEqual(started, 8)
      yield* TestClock.adjust("1 second")
      const result = yield* Fiber.join(fiber)
      assert.strictEqual(result.rowsCompleted, 8)
      yield* checkInvariants(scheduler, written, result)
    }))

  it.effect("generators that complete synchronously never re-enter a dispatcher step", () =>
    Effect.gen(function*() {
      const { sink, written } = memorySink()
      const scheduler = yield* makeScheduler({
        rows: 5_000,
        bufferSize: 100,
        sink,
        columns: [
          { name: "a", strategy: "cell", generate: ({ row }) => Effect.succeed({ a: row }) },
          {
            name: "b",
            strategy: "cell",
            requires: ["a"],
            generate: ({ values }) => Effect.succeed({ b: Number(values.a) * 2 })
          },
          {
            name: "c",
            strategy: "full",
            requires: ["b"],
            generate: ({ rows }) => Effect.succeed(rows.map((r) => ({ c: Number(r.b) + 1 })))
          }
        ]
      })
      const result = yield* scheduler.run
      assert.strictEqual(result.rowsCompleted, 5_000)
      assert.deepStrictEqual(written[7]!.rows[3], { a: 703, b: 1406, c: 1407 })
      yield* checkInvariants(scheduler, written, result)
    }))
})
