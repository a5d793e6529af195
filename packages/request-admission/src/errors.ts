/**
 * Typed denials of request admission. Each one is a value a caller can act on: wait and retry
 * (`QueueTimeout`, `Cooldown`, `NoCapacity`), fix the configuration (`UnknownResource`), or stop
 * (`Shutdown`).
 */
import type { RequestResourceKey } from "@sluice/scheduling-resources"
import { Data } from "effect"

/** The item waited in the queue for its whole `queueWaitTimeoutSeconds` without being admitted. */
export class QueueTimeout extends Data.TaggedError("QueueTimeout")<{
  readonly resource: RequestResourceKey
  /** How long the item waited, on the `Clock`. 0 for a zero timeout ("try once, never wait"). */
  readonly waitedMs: number
  /** Other waiters queued for the same resource when the wait ended. */
  readonly waitersAhead: number
}> {}

/**
 * The provider/model of the item was never registered. A configuration error: retrying cannot help,
 * so it is reported at once and never as a timeout.
 */
export class UnknownResource extends Data.TaggedError("UnknownResource")<{
  readonly resource: RequestResourceKey
}> {}

/** The controller was shut down; it admits nothing more and fails every waiter with this. */
export class Shutdown extends Data.TaggedError("Shutdown")<{
  readonly resource: RequestResourceKey
}> {}

/** `tryAcquire` only: the resource is cooling down after a rate limit until `availableAtMillis`. */
export class Cooldown extends Data.TaggedError("Cooldown")<{
  readonly resource: RequestResourceKey
  /** `Clock` time (ms) at which the cooldown ends. */
  readonly availableAtMillis: number
}> {}

/** `tryAcquire` only: no permit is free right now for this resource or its provider/model. */
export class NoCapacity extends Data.TaggedError("NoCapacity")<{
  readonly resource: RequestResourceKey
  /** Which limit is full: the adaptive per-domain limit, or the static per provider/model cap. */
  readonly limit: "adaptive_limit" | "static_cap"
}> {}

/** A `layer(config)` value is out of range; names the field. */
export class RequestAdmissionConfigError extends Data.TaggedError("RequestAdmissionConfigError")<{
  readonly field: string
  readonly message: string
}> {}

/** What `acquire` can fail with. */
export type AcquireError = QueueTimeout | UnknownResource | Shutdown
/** What `tryAcquire` can fail with. */
export type TryAcquireError = Cooldown | NoCapacity | UnknownResource | Shutdown
