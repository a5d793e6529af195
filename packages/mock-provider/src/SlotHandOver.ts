import { Schema } from "effect"

/**
 * How long the mock's slots stand empty while a client has them to use, as the provider sees it. A benchmark's
 * time over its ideal is mostly three things: the start (slots not yet filled), the hand-overs (a slot freed by one
 * answer and taken by the client's next request), and the tail (no work left). This measures the first two, so a
 * comparison of clients can say which one a gap comes from; the tail is what is left.
 *
 * - `startupSlotMs`: Σ over the slots first taken in the window of (taken − first request of the window): slot
 *   milliseconds lost before the client filled its first wave.
 * - hand-overs: each later admitted request takes the most recently freed slot (a stack, so capacity the client
 *   never uses — a client capped below the mock's capacity — is not counted as an endless gap), and its gap is
 *   (admitted − freed). Slots freed and never taken again (the tail) are not counted.
 *
 * Percentiles come from a log histogram (100 buckets per decade: within ±1.2 %), so memory stays flat however long
 * the mock runs.
 */
export const SlotHandOverStats = Schema.Struct({
  /** Admissions that took a slot freed in the window by an earlier answer. */
  count: Schema.Int,
  meanMicros: Schema.Number,
  p50Micros: Schema.Number,
  p90Micros: Schema.Number,
  /** Admissions that took one of the slots free when the window started. */
  startupCount: Schema.Int,
  startupSlotMs: Schema.Number
})
export type SlotHandOverStats = typeof SlotHandOverStats.Type

export interface SlotHandOver {
  /** A request took a slot at `nowMs` (fractional milliseconds). */
  readonly taken: (nowMs: number) => void
  /** An admitted request gave its slot back at `nowMs`. */
  readonly freed: (nowMs: number) => void
  readonly stats: () => SlotHandOverStats
  /** Starts a new window with `freeSlots` slots free (at `POST /stats/reset`). */
  readonly reset: (freeSlots: number) => void
}

const bucketsPerDecade = 100
// 0.1 µs … 10^7 µs (10 s); longer gaps land in the last bucket.
const minLog = -1
const bucketCount = (7 - minLog) * bucketsPerDecade + 1

const bucketOf = (micros: number): number =>
  Math.min(bucketCount - 1, Math.max(0, Math.floor((Math.log10(Math.max(micros, 1e-1)) - minLog) * bucketsPerDecade)))

/** The geometric middle of a bucket. */
const bucketMicros = (bucket: number): number => 10 ** (minLog + (bucket + 0.5) / bucketsPerDecade)

const round1 = (x: number) => Math.round(x * 10) / 10

export const makeSlotHandOver = (freeSlots: number): SlotHandOver => {
  let startupFree = freeSlots
  let windowStart: number | undefined
  const freedAt: Array<number> = []
  const histogram = Array.from<number>({ length: bucketCount }).fill(0)
  let count = 0
  let sumMicros = 0
  let startupCount = 0
  let startupSlotMs = 0

  const percentile = (q: number): number => {
    if (count === 0) return 0
    const rank = Math.ceil(q * count)
    let seen = 0
    for (let b = 0; b < bucketCount; b++) {
      seen += histogram[b]!
      if (seen >= rank) return round1(bucketMicros(b))
    }
    return round1(bucketMicros(bucketCount - 1))
  }

  return {
    taken: (nowMs) => {
      windowStart ??= nowMs
      const freed = freedAt.pop()
      if (freed !== undefined) {
        const micros = Math.max(0, nowMs - freed) * 1000
        histogram[bucketOf(micros)]!++
        count++
        sumMicros += micros
      } else if (startupFree > 0) {
        startupFree--
        startupCount++
        startupSlotMs += nowMs - windowStart
      }
    },
    freed: (nowMs) => {
      freedAt.push(nowMs)
    },
    stats: () => ({
      count,
      meanMicros: count === 0 ? 0 : round1(sumMicros / count),
      p50Micros: percentile(0.5),
      p90Micros: percentile(0.9),
      startupCount,
      startupSlotMs: Math.round(startupSlotMs * 1000) / 1000
    }),
    reset: (free) => {
      startupFree = free
      windowStart = undefined
      freedAt.length = 0
      histogram.fill(0)
      count = 0
      sumMicros = 0
      startupCount = 0
      startupSlotMs = 0
    }
  }
}
