/**
 * The `RequestAdmission` service: may this model call start now?
 */
import type { ProviderModelKey, RequestCapacityView, RequestResourceKey } from "@sluice/scheduling-resources"
import { Context, Effect, Layer, type Scope, type Stream } from "effect"
import { type ModelRegistration, type RequestAdmissionConfigInput, resolveConfig } from "./config.js"
import type {
  RequestAdmissionConfigError,
  RequestAdmissionCooldown,
  RequestAdmissionNoCapacity,
  RequestAdmissionQueueTimeout,
  RequestAdmissionShutdown,
  RequestAdmissionUnknownResource
} from "./errors.js"
import { makeController } from "./internal/controller.js"
import type { RequestEvent } from "./RequestEvent.js"
import type { RequestAdmissionItem, RequestLease } from "./RequestLease.js"
import type { ProviderModelPressure, RequestAdmissionInspection, RequestPressure } from "./RequestPressure.js"
import type { ReleaseOutcome, ReleaseResult } from "./ReleaseOutcome.js"

export interface RequestAdmissionShape {
  /**
   * Registers (or changes) the static cap of one alias of a provider/model. Aliases of the same provider/model
   * merge with the min rule; caps below 1 count as 1. Lowering clamps adaptive limits at once; raising lifts the
   * ceiling that additive increase climbs to.
   */
  readonly register: (registration: ModelRegistration) => Effect.Effect<void>
  /**
   * Waits (fairly) for a lease. The lease belongs to the current `Scope`: if the scope closes before `release`,
   * it is released as `local_cancelled`. Interrupting a queued acquire leaves no trace.
   */
  readonly acquire: (
    item: RequestAdmissionItem
  ) => Effect.Effect<
    RequestLease,
    RequestAdmissionQueueTimeout | RequestAdmissionUnknownResource | RequestAdmissionShutdown,
    Scope.Scope
  >
  /** A lease now or a typed denial; never queues and never jumps ahead of an eligible queued waiter. */
  readonly tryAcquire: (
    item: RequestAdmissionItem
  ) => Effect.Effect<
    RequestLease,
    RequestAdmissionCooldown | RequestAdmissionNoCapacity | RequestAdmissionUnknownResource | RequestAdmissionShutdown,
    Scope.Scope
  >
  /**
   * `acquire`, run `use`, release — without a `Scope`. Call `release(lease, outcome)` inside `use` to report a
   * provider outcome; otherwise success → `success`, failure or defect → `unexpected_exception`, interruption →
   * `local_cancelled`.
   */
  readonly withLease: <A, E, R>(
    item: RequestAdmissionItem,
    use: (lease: RequestLease) => Effect.Effect<A, E, R>
  ) => Effect.Effect<
    A,
    E | RequestAdmissionQueueTimeout | RequestAdmissionUnknownResource | RequestAdmissionShutdown,
    R
  >
  /** Releases exactly once; a second release reports `duplicate` and changes nothing. */
  readonly release: (lease: RequestLease, outcome: ReleaseOutcome) => Effect.Effect<ReleaseResult>
  /** Pressure of one resource (a never-used resource reports its starting state; nothing is created). */
  readonly pressure: (resource: RequestResourceKey) => Effect.Effect<RequestPressure, RequestAdmissionUnknownResource>
  /** Pressure of every resource that has been used. */
  readonly pressures: Effect.Effect<ReadonlyArray<RequestPressure>>
  readonly providerModelPressure: (
    key: ProviderModelKey
  ) => Effect.Effect<ProviderModelPressure, RequestAdmissionUnknownResource>
  /** The scheduler-facing capacity of one resource. */
  readonly capacity: (
    resource: RequestResourceKey
  ) => Effect.Effect<RequestCapacityView, RequestAdmissionUnknownResource>
  /** Every limit change, cooldown start and cooldown end, as capacity views. */
  readonly capacityChanges: Stream.Stream<RequestCapacityView>
  /** Request events (bounded per subscriber; see `eventBufferSize`). */
  readonly events: Stream.Stream<RequestEvent>
  /** Leak view: active leases and waiters in total, and release diagnostics. */
  readonly inspect: Effect.Effect<RequestAdmissionInspection>
  /** Fails every waiter with `RequestAdmissionShutdown` and refuses new acquires; held leases can still be released. */
  readonly shutdown: Effect.Effect<void>
}

/** Builds a controller in the current scope; it shuts down when the scope closes. */
export const make: (
  config: RequestAdmissionConfigInput
) => Effect.Effect<RequestAdmissionShape, RequestAdmissionConfigError, Scope.Scope> = Effect.fnUntraced(
  function*(config: RequestAdmissionConfigInput) {
    const resolved = yield* resolveConfig(config)
    return yield* makeController(resolved)
  }
)

export class RequestAdmission extends Context.Service<RequestAdmission, RequestAdmissionShape>()(
  "@sluice/request-admission/RequestAdmission"
) {
  /** A controller with this configuration; it shuts down when the layer's scope closes. */
  static layer(config: RequestAdmissionConfigInput = {}): Layer.Layer<RequestAdmission, RequestAdmissionConfigError> {
    return Layer.effect(RequestAdmission, make(config))
  }

  /** A controller with the default configuration and no registered models (use `register`). */
  static readonly layerDefault: Layer.Layer<RequestAdmission> = Layer.effect(RequestAdmission, Effect.orDie(make({})))
}
