/**
 * Request events: values on `RequestAdmission.events`, a tagged union discriminated by `_tag`. The controller and
 * the executor share one sequence. Events carry identities, counts and timings only — never prompts,
 * completions or keys — and are built only while somebody subscribes.
 */
import type { ProviderErrorKind } from "@sluice/errors"
import type { ProviderModelKey, RequestResourceKey } from "@sluice/scheduling-resources"
import type { ReleaseOutcomeKind } from "./ReleaseOutcome.js"

interface Stamp {
  /** Strictly increasing and gap-free per controller (a subscriber that lags past the buffer sees a jump). */
  readonly sequence: number
  /** `Clock` time in ms. */
  readonly atMillis: number
}

interface About extends Stamp {
  readonly resource: RequestResourceKey
}

/** A provider/model alias was registered or changed its cap. */
export interface RequestResourceRegistered extends Stamp {
  readonly _tag: "request_resource_registered"
  readonly providerModel: ProviderModelKey
  readonly alias: string
  /** The static cap before and after (min over the aliases); equal on a first registration. */
  readonly previousCap: number
  readonly staticCap: number
}

/** An item joined the waiter queue. */
export interface RequestWaitStarted extends About {
  readonly _tag: "request_wait_started"
  readonly group: string
  /** Queued for the resource, this item included. */
  readonly waiters: number
}

/** A queued item was admitted. An uncontended admission emits only `request_lease_acquired`. */
export interface RequestWaitCompleted extends About {
  readonly _tag: "request_wait_completed"
  readonly group: string
  readonly leaseId: number
  readonly waitedMs: number
}

/** A queued item's queue-wait timeout fired. */
export interface RequestWaitTimeout extends About {
  readonly _tag: "request_wait_timeout"
  readonly group: string
  readonly waitedMs: number
  /** Others still queued for the resource. */
  readonly waiters: number
}

/** A queued item was interrupted, or failed by shutdown. */
export interface RequestWaitCancelled extends About {
  readonly _tag: "request_wait_cancelled"
  readonly group: string
  readonly waitedMs: number
  readonly reason: "interrupted" | "shutdown"
}

/** `tryAcquire` (or a zero-timeout `acquire`) was denied. */
export interface RequestAcquireDenied extends About {
  readonly _tag: "request_acquire_denied"
  readonly group: string
  readonly reason:
    | "cooldown"
    | "adaptive_limit"
    | "static_cap"
    | "requests_per_minute"
    | "tokens_per_minute"
    | "queue_timeout"
}

/**
 * The next queued call of a provider/model lacks its RPM / TPM budget: the queue waits (nothing is admitted ahead
 * of it) until the bucket has refilled. Emitted once per wait, when the refill timer is set.
 */
export interface RequestBudgetWait extends About {
  readonly _tag: "request_budget_wait"
  /** The waiting call's group. */
  readonly group: string
  /** The budget it lacks (the one it waits longest for). */
  readonly limit: "requests_per_minute" | "tokens_per_minute"
  /** When the queue is served again. */
  readonly retryInMs: number
  /** Queued over every domain of the provider/model. */
  readonly waiters: number
}

export interface RequestLeaseAcquired extends About {
  readonly _tag: "request_lease_acquired"
  readonly group: string
  readonly leaseId: number
  readonly limit: number
  readonly inFlight: number
}

export interface RequestLeaseReleased extends About {
  readonly _tag: "request_lease_released"
  readonly group: string
  readonly leaseId: number
  readonly outcome: ReleaseOutcomeKind
  /** The HTTP status of a `provider_failure`, when known. */
  readonly status?: number | undefined
  readonly limit: number
  readonly inFlight: number
}

/** A second release of a lease, or a lease of another controller; nothing changed. */
export interface RequestReleaseDiagnostic extends About {
  readonly _tag: "request_release_diagnostic"
  readonly leaseId: number
  readonly reason: "duplicate" | "foreign_lease"
}

/** A 429: the cooldown starts or is extended. */
export interface RequestRateLimited extends About {
  readonly _tag: "request_rate_limited"
  readonly group: string
  readonly leaseId: number
  readonly retryAfterSeconds?: number | undefined
  readonly blockedUntilMillis: number
  readonly limit: number
}

/** The adaptive limit went down: ×factor on a 429, to what was in flight, a lowered cap, or a ramp step. */
export interface RequestLimitDecreased extends About {
  readonly _tag: "request_limit_decreased"
  readonly previousLimit: number
  readonly limit: number
  readonly reason: "rate_limited" | "in_flight" | "static_cap" | "ramp"
  readonly rateLimitCeiling: number
}

/** The adaptive limit went up: additive increase, a startup-ramp step, or a raised cap. */
export interface RequestLimitIncreased extends About {
  readonly _tag: "request_limit_increased"
  readonly previousLimit: number
  readonly limit: number
  readonly reason: "additive" | "ramp" | "static_cap"
}

/** The limit climbed above the admitted limit of the last decreasing 429. */
export interface RequestSoftCeilingRecovered extends About {
  readonly _tag: "request_soft_ceiling_recovered"
  readonly limit: number
  readonly rateLimitCeiling: number
}

/** After a decrease, the limit is back at the effective max and no cooldown is active. */
export interface RequestFullyRecovered extends About {
  readonly _tag: "request_fully_recovered"
  readonly limit: number
}

/** A cooldown ended: queued items of the resource may be admitted again. */
export interface RequestCooldownEnded extends About {
  readonly _tag: "request_cooldown_ended"
  readonly limit: number
  readonly reason: "expired" | "probe_succeeded"
}

/** The executor holds a lease and is calling the provider. */
export interface ModelRequestStarted extends About {
  readonly _tag: "model_request_started"
  readonly group: string
  readonly leaseId: number
  readonly attempt: number
}

/** The provider attempt ended; emitted before its lease is released. */
export interface ModelRequestCompleted extends About {
  readonly _tag: "model_request_completed"
  readonly group: string
  readonly leaseId: number
  readonly attempt: number
  readonly outcome: ReleaseOutcomeKind
  /** The provider error's kind, when the attempt failed with one. */
  readonly errorKind?: ProviderErrorKind | undefined
  readonly status?: number | undefined
  readonly durationMs: number
}

/** The controller was shut down. */
export interface RequestAdmissionShutdownEvent extends Stamp {
  readonly _tag: "request_admission_shutdown"
  /** Waiters failed with `RequestAdmissionShutdown`. */
  readonly waiters: number
}

export type RequestEvent =
  | RequestResourceRegistered
  | RequestWaitStarted
  | RequestWaitCompleted
  | RequestWaitTimeout
  | RequestWaitCancelled
  | RequestAcquireDenied
  | RequestBudgetWait
  | RequestLeaseAcquired
  | RequestLeaseReleased
  | RequestReleaseDiagnostic
  | RequestRateLimited
  | RequestLimitDecreased
  | RequestLimitIncreased
  | RequestSoftCeilingRecovered
  | RequestFullyRecovered
  | RequestCooldownEnded
  | ModelRequestStarted
  | ModelRequestCompleted
  | RequestAdmissionShutdownEvent

export type RequestEventTag = RequestEvent["_tag"]

/** The member of the union with this tag. */
export type RequestEventOf<Tag extends RequestEventTag> = Extract<RequestEvent, { readonly _tag: Tag }>

/** An event before the controller numbers and timestamps it. */
export type RequestEventInput = RequestEvent extends infer E ? E extends Stamp ? Omit<E, keyof Stamp> : never
  : never
