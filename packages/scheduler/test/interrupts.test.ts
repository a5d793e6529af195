import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Fiber } from "effect"
import { runTest } from "./helpers.js"

/** A generator that raced an interrupt internally: it joins a child fiber that was interrupted. */
const joinInterruptedChild = Effect.gen(function*() {
  const child = yield* Effect.forkChild(Effect.never, { startImmediately: true })
  yield* Fiber.interrupt(child)
  return yield* Fiber.join(child)
})

describe("interrupt-only exits the scheduler did not cause", () => {
  it.effect("are retried as generator_interrupted, and the row completes", () =>
    Effect.gen(function*() {
      const attempts = new Map<number, number>()
      const { exit, result } = yield* runTest(
        {
          rows: 3,
          bufferSize: 3,
          columns: [{
            name: "x",
            strategy: "cell",
            generate: ({ row }) =>
              Effect.suspend(() => {
                const n = (attempts.get(row) ?? 0) + 1
                attempts.set(row, n)
                if (row === 0 && n === 1) return Effect.interrupt
                if (row === 1 && n <= 2) return joinInterruptedChild
                return Effect.succeed({ x: row })
              })
          }]
        },
        {},
        { stepMs: 100 }
      )
      assert.isTrue(Exit.isSuccess(exit), "no deadlock")
      assert.strictEqual(result.rowsCompleted, 3)
      assert.deepStrictEqual(result.outcomes, { generator_interrupted: 3, success: 3 })
      assert.deepStrictEqual([...attempts.values()], [2, 3, 1])
    }))

  it.effect("when retries are spent, the row is dropped with that cause; the rest of the run completes", () =>
    Effect.gen(function*() {
      const { exit, result, written } = yield* runTest(
        {
          rows: 4,
          bufferSize: 2,
          columns: [
            {
              name: "x",
              strategy: "cell",
              generate: ({ row }) => row === 2 ? Effect.interrupt : Effect.succeed({ x: 1 })
            },
            {
              name: "y",
              strategy: "full",
              requires: ["x"],
              generate: ({ rows }) => Effect.succeed(rows.map(() => ({ y: 1 })))
            }
          ]
        },
        { retry: { maxAttempts: 2 } },
        { stepMs: 100 }
      )
      assert.isTrue(Exit.isSuccess(exit), "no deadlock")
      assert.deepStrictEqual(result.dropCauses, { generator_interrupted: 1 })
      const dropped = result.droppedRows[0]!
      assert.strictEqual(dropped.row, 2)
      assert.strictEqual(dropped.cause.attempts, 2)
      assert.include(dropped.cause.message, "interrupted")
      assert.deepStrictEqual(written.map((c) => c.rowIndexes), [[0, 1], [1]])
    }))
})
