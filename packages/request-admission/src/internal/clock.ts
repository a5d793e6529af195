import { Clock, type Fiber } from "effect"

/** The fiber's `Clock` in ms, read inside a synchronous step (`TestClock` in tests). */
export const nowOf = (fiber: Fiber.Fiber<unknown, unknown>): number =>
  fiber.getRef(Clock.Clock).currentTimeMillisUnsafe()
