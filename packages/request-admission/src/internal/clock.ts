import { Clock, type Fiber } from "effect"

/** The fiber's `Clock` in ms, read inside a synchronous step (`TestClock` in tests). */
export const nowOf = (fiber: Fiber.Fiber<unknown, unknown>): number =>
  fiber.getRef(Clock.Clock).currentTimeMillisUnsafe()

/** The fiber's clock for one synchronous step: read at most once, and only if something asks for the time. */
export const stepClock = (fiber: Fiber.Fiber<unknown, unknown>): () => number => {
  let now: number | undefined
  return () => (now ??= nowOf(fiber))
}
