import { Schema } from "effect"
import { SlotHandOverStats } from "./SlotHandOver.js"

/**
 * What the mock provider did, as `GET /stats` reports it. The first four fields are the stable core (a client's
 * summary and the benchmarks compare them with the client's own counts); the rest explain the gaps between them.
 */
export const MockStats = Schema.Struct({
  /** Requests answered 200 with a completion. */
  served: Schema.Int,
  /** Requests answered 429, whether for capacity or the rpm bucket. */
  rejected429: Schema.Int,
  /** Requests answered 500 or 503 by `serverErrorRate`. */
  serverErrors: Schema.Int,
  /** The most requests ever in service at once (never above `capacity`). */
  maxConcurrent: Schema.Int,
  rejectedCapacity: Schema.Int,
  rejectedRpm: Schema.Int,
  /** Requests chosen by `timeoutRate` to never be answered. */
  timeouts: Schema.Int,
  /** Admitted requests whose client went away before the answer (its timeout fired, or it was interrupted). */
  abandoned: Schema.Int,
  /** Requests answered 400 (body not a chat-completions request). */
  badRequests: Schema.Int,
  /** Prompt tokens of the answered (200) requests, as their `usage` reported them. */
  promptTokens: Schema.Int,
  /** Completion tokens of the answered (200) requests, as their `usage` reported them. */
  completionTokens: Schema.Int,
  /** Requests in service right now. */
  inFlight: Schema.Int,
  /** How long freed slots stood empty before the client's next request took them (see `SlotHandOver`). */
  slotHandOver: SlotHandOverStats
})
export type MockStats = typeof MockStats.Type

export type MockCounter = Exclude<keyof MockStats, "maxConcurrent" | "inFlight" | "slotHandOver">

export const emptyCounters = (): Record<MockCounter, number> => ({
  served: 0,
  rejected429: 0,
  serverErrors: 0,
  rejectedCapacity: 0,
  rejectedRpm: 0,
  timeouts: 0,
  abandoned: 0,
  badRequests: 0,
  promptTokens: 0,
  completionTokens: 0
})
