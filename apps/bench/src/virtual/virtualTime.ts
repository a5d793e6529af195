import { Clock, Effect, Fiber } from "effect"
import { TestClock } from "effect/testing"

/**
 * Runs `effect` on a fresh virtual clock, advancing it in `stepMs` steps until the effect ends. The clock jumps
 * to every sleep's exact wake time inside a step, so results do not depend on the step size.
 * Returns the result and the virtual elapsed milliseconds.
 */
export const runVirtual = <A, E, R>(effect: Effect.Effect<A, E, R>, stepMs = 50, maxMs = 3_600_000) =>
  Effect.gen(function*() {
    const fiber = yield* Effect.forkChild(
      Effect.gen(function*() {
        const start = yield* Clock.currentTimeMillis
        const value = yield* effect
        return { value, elapsedMs: (yield* Clock.currentTimeMillis) - start }
      }),
      { startImmediately: true }
    )
    let elapsed = 0
    while (fiber.pollUnsafe() === undefined && elapsed < maxMs) {
      yield* TestClock.adjust(stepMs)
      elapsed += stepMs
    }
    if (fiber.pollUnsafe() === undefined) yield* Fiber.interrupt(fiber)
    return yield* Fiber.join(fiber)
  }).pipe(Effect.provide(TestClock.layer()))

/** Nearest-rank percentile of a sample (p in [0, 1]). */
export const percentile = (values: ReadonlyArray<number>, p: number): number => {
  if (values.length === 0) return 0
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.max(0, Math.ceil(p * sorted.length) - 1)]!
}
