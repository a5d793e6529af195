/**
 * Typed denials of request admission. Each one is a value a caller can act on: wait and retry
 * (`RequestAdmissionQueueTimeout`, `RequestAdmissionCooldown`, `RequestAdmissionNoCapacity`), fix the
 * configuration (`RequestAdmissionUnknownResource`, `RequestAdmissionConfigError`), or stop
 * (`RequestAdmissionShutdown`).
 */
import { RequestResourceKey } from "@sluice/scheduling-resources"
import { Schema } from "effect"

/** The item waited in the queue for its whole `queueWaitTimeoutSeconds` without being admitted. */
export class RequestAdmissionQueueTimeout
  extends Schema.TaggedError<RequestAdmissionQueueTimeout>()("RequestAdmissionQueueTimeout", {
    resource: RequestResourceKey,
    /** How long the item waited, on the `Clock`. 0 for a zero timeout ("try once, never wait"). */
    waitedMs: Schema.Number,
    /** Other waiters queued for the same resource when the wait ended. */
    waitersAhead: Schema.Number
  })
{}

/**
 * The provider/model of the item was never registered. A configuration error: retrying cannot help, so it is
 * reported at once and never as a timeout.
 */
export class RequestAdmissionUnknownResource
  extends Schema.TaggedError<RequestAdmissionUnknownResource>()("RequestAdmissionUnknownResource", {
    resource: RequestResourceKey
  })
{}

/** The controller was shut down; it admits nothing more and fails every waiter with this. */
export class RequestAdmissionShutdown
  extends Schema.TaggedError<RequestAdmissionShutdown>()("RequestAdmissionShutdown", {
    resource: RequestResourceKey
  })
{}

/** `tryAcquire` only: the resource is cooling down after a rate limit until `availableAtMillis`. */
export class RequestAdmissionCooldown
  extends Schema.TaggedError<RequestAdmissionCooldown>()("RequestAdmissionCooldown", {
    resource: RequestResourceKey,
    /** `Clock` time (ms) at which the cooldown ends. */
    availableAtMillis: Schema.Number
  })
{}

/** `tryAcquire` only: no permit is free right now for this resource or its provider/model. */
export class RequestAdmissionNoCapacity
  extends Schema.TaggedError<RequestAdmissionNoCapacity>()("RequestAdmissionNoCapacity", {
    resource: RequestResourceKey,
    /**
     * Which limit is full: the adaptive per-domain limit, the static per provider/model cap, or the provider/model's
     * requests-per-minute or tokens-per-minute budget.
     */
    limit: Schema.Literals(["adaptive_limit", "static_cap", "requests_per_minute", "tokens_per_minute"])
  })
{}

/** A configuration value is out of range; `field` names it (`models[0].maxParallelRequests`). */
export class RequestAdmissionConfigError
  extends Schema.TaggedError<RequestAdmissionConfigError>()("RequestAdmissionConfigError", {
    field: Schema.String,
    message: Schema.String
  })
{}

/** What `acquire` can fail with. */
export type AcquireError = RequestAdmissionQueueTimeout | RequestAdmissionUnknownResource | RequestAdmissionShutdown
/** What `tryAcquire` can fail with. */
export type TryAcquireError =
  | RequestAdmissionCooldown
  | RequestAdmissionNoCapacity
  | RequestAdmissionUnknownResource
  | RequestAdmissionShutdown
