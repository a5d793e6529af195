/**
 * The port between the request layer and the scheduler: the live capacity of one request resource, and a source
 * of it. `@sluice/request-admission` publishes these views; `@sluice/scheduler` reads them through this
 * structural port, so neither package depends on the other at run time.
 */
import type { Effect, Stream } from "effect"
import type { RequestResourceKey } from "./RequestResourceKey.js"

/**
 * What the scheduler needs to keep its own gate for a request resource in step with request admission.
 * Published at every limit change, cooldown start and cooldown end.
 */
export interface RequestCapacityView {
  readonly resource: RequestResourceKey
  /**
   * `min(current adaptive limit, slow-start window, effective max, static cap)`; while half-open, at most
   * `inFlight + 1` (one probe).
   */
  readonly limit: number
  /** The provider/model's static aggregate cap. */
  readonly staticCap: number
  /** False while cooling down, unless half-open (one probe may start). */
  readonly open: boolean
  /** Clock millis at which the current cooldown ends; `null` when not cooling down. */
  readonly blockedUntilMillis: number | null
  readonly inFlight: number
  readonly waiters: number
}

/** The live capacity of request resources: a current view per resource and a stream of every change. */
export interface RequestCapacitySource {
  readonly capacity: (resource: RequestResourceKey) => Effect.Effect<RequestCapacityView, unknown>
  readonly capacityChanges: Stream.Stream<RequestCapacityView>
}
