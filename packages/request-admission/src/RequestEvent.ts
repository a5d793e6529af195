/**
 * Request events: values on `RequestAdmission.events`, one sequence space for the controller and the
 * executor. They carry identities, counts and timings only — never prompts, completions or keys.
 */
import type { RequestResourceKey } from "@sluice/scheduling-resources"
import type { ReleaseOutcomeKind } from "./ReleaseOutcome.js"

export type RequestEventKind =
  /** A provider/model alias was registered or changed its cap (`resource.domain` is "chat" by convention; `limit` = new static cap). */
  | "request_resource_registered"
  /** An item joined the waiter queue (`waiters` = queued for its resource, itself included). */
  | "request_wait_started"
  /** A queued item was admitted (`waitedMs`). An uncontended admission emits only `request_lease_acquired`. */
  | "request_wait_completed"
  /** A queued item's queue-wait timeout fired (`waitedMs`, `waiters` = others still queued). */
  | "request_wait_timeout"
  /** A queued item was interrupted or failed by shutdown (`reason`: "interrupted" | "shutdown"). */
  | "request_wait_cancelled"
  /** `tryAcquire` (or a zero-timeout `acquire`) was denied (`reason`). */
  | "request_acquire_denied"
  | "request_lease_acquired"
  /** `outcome` = the release outcome kind. */
  | "request_lease_released"
  /** A second release of a lease, or a lease of another controller (`reason`); nothing changed. */
  | "request_release_diagnostic"
  /** A 429 (`retryAfterSeconds`, `blockedUntilMillis`). Cooldown starts or is extended. */
  | "request_rate_limited"
  /** Multiplicative decrease (`previousLimit` → `limit`). */
  | "request_limit_decreased"
  /** Additive increase or a startup-ramp step (`previousLimit` → `limit`, `reason`: "additive" | "ramp"). */
  | "request_limit_increased"
  /** The limit climbed above the admitted limit of the last decreasing 429 (`limit`, `rateLimitCeiling`). */
  | "request_soft_ceiling_recovered"
  /** After a decrease, the limit is back at the effective max and no cooldown is active. */
  | "request_fully_recovered"
  /** A cooldown ended (`limit`): queued items of the resource may be admitted again. */
  | "request_cooldown_ended"
  /** The executor holds a lease and is calling the provider (`attempt`, `leaseId`). */
  | "model_request_started"
  /** The provider attempt ended, emitted before its lease is released (`outcome`, `durationMs`, `attempt`). */
  | "model_request_completed"
  /** The controller was shut down (`waiters` = waiters failed with `Shutdown`). */
  | "request_admission_shutdown"

export interface RequestEvent {
  readonly kind: RequestEventKind
  /** Strictly increasing and gap-free per controller (a subscriber that lags past the buffer sees a jump). */
  readonly sequence: number
  /** `Clock` time in ms. */
  readonly atMillis: number
  readonly resource: RequestResourceKey
  readonly group?: string | undefined
  readonly leaseId?: number | undefined
  readonly outcome?: ReleaseOutcomeKind | undefined
  readonly reason?: string | undefined
  readonly limit?: number | undefined
  readonly previousLimit?: number | undefined
  readonly rateLimitCeiling?: number | undefined
  readonly inFlight?: number | undefined
  readonly waiters?: number | undefined
  readonly waitedMs?: number | undefined
  readonly retryAfterSeconds?: number | undefined
  readonly blockedUntilMillis?: number | undefined
  readonly status?: number | undefined
  readonly attempt?: number | undefined
  readonly durationMs?: number | undefined
}

/** An event before the controller numbers and timestamps it. */
export type RequestEventInput = Omit<RequestEvent, "sequence" | "atMillis">
