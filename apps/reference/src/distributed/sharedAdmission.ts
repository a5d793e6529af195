import {
  RequestAdmission,
  type RequestAdmissionConfigInput,
  RequestAdmissionQueueTimeout,
  RequestAdmissionShutdown,
  type RequestAdmissionShape
} from "@sluice/request-admission"
import {
  makeSharedRequestAdmission,
  type SharedAdmissionConfigInput,
  SharedAdmissionLeaseLost,
  SharedAdmissionShutdown,
  SharedAdmissionUnavailable
} from "@sluice/request-admission-redis"
import { Effect, Layer } from "effect"

/**
 * `RequestAdmission` for a worker of a distributed run: every call takes the worker's local lease and then a
 * shared lease from Redis (`SharedRequestAdmission`), so all workers together stay within each model's
 * `maxParallelRequests` and share its adaptive limit and cooldowns. Pressure, capacity and inspection are the
 * worker's own controller's.
 *
 * Shared admission fails closed. Redis unreachable, or a lease lost because it could not be renewed, surfaces as
 * an admission timeout: a preserved failure the scheduler retries, so no row is dropped for it (the worker's own
 * Redis calls report Redis unreachable and stop the worker).
 */
export const sharedAdmissionLayer = (
  local: RequestAdmissionConfigInput,
  shared: SharedAdmissionConfigInput
) =>
  Layer.effect(
    RequestAdmission,
    Effect.map(makeSharedRequestAdmission(local, shared), (admission): RequestAdmissionShape => ({
      ...admission.local,
      register: admission.register,
      release: admission.release,
      withLease: (item, use) =>
        admission.withLease(item, use).pipe(
          Effect.mapError((error) =>
            error instanceof SharedAdmissionUnavailable || error instanceof SharedAdmissionLeaseLost
              ? new RequestAdmissionQueueTimeout({ resource: item.resource, waitedMs: 0, waitersAhead: 0 })
              : error instanceof SharedAdmissionShutdown
              ? new RequestAdmissionShutdown({ resource: item.resource })
              : error
          )
        )
    }))
  )
