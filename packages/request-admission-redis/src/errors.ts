/**
 * Typed failures of shared admission. Redis being unreachable is never turned into local admission: a worker
 * that cannot reach the shared lease table admits nothing (fail closed), so N workers never send N× the cap.
 */
import { RequestResourceKey } from "@sluice/scheduling-resources"
import { Schema } from "effect"

/** Redis did not answer (down, unreachable, or slower than `commandTimeoutSeconds`): nothing was admitted. */
export class SharedAdmissionUnavailable
  extends Schema.TaggedError<SharedAdmissionUnavailable>()("SharedAdmissionUnavailable", {
    resource: Schema.optional(RequestResourceKey),
    /** What the worker was doing: `acquire`, `release`, `heartbeat` or `state`. */
    operation: Schema.String,
    message: Schema.String
  })
{}

/**
 * The worker could not renew its lease within the TTL (or Redis reaped it): other workers may already use the
 * slot, so the call holding it is aborted to keep the shared cap.
 */
export class SharedAdmissionLeaseLost
  extends Schema.TaggedError<SharedAdmissionLeaseLost>()("SharedAdmissionLeaseLost", {
    resource: RequestResourceKey,
    lease: Schema.String
  })
{}

/** The shared admission's scope closed; it admits nothing more. */
export class SharedAdmissionShutdown extends Schema.TaggedError<SharedAdmissionShutdown>()("SharedAdmissionShutdown", {
  resource: RequestResourceKey
}) {}

/** A configuration value is out of range; `field` names it. */
export class SharedAdmissionConfigError
  extends Schema.TaggedError<SharedAdmissionConfigError>()("SharedAdmissionConfigError", {
    field: Schema.String,
    message: Schema.String
  })
{}
