/**
 * What the executor (same package) and the package's tests may use beyond the public service: the controller's
 * event sequence, and views of its internal state. Carried on the service value under a symbol, so it is not
 * part of `RequestAdmissionShape`.
 */
import type { Effect, Fiber } from "effect"
import type { RequestEventInput } from "../RequestEvent.js"
import type { PermitsView } from "./views/views.js"

export interface AdmissionInternals {
  /** Whether anybody subscribes to events: events are built only then. */
  readonly listening: () => boolean
  /** Publishes an event into the controller's sequence, inside a synchronous step of `fiber`. */
  readonly emit: (fiber: Fiber.Fiber<unknown, unknown>, event: RequestEventInput) => void
  /** Fair-queue flows held in memory (shrinks to 0 as waiters leave). */
  readonly queueStateSize: Effect.Effect<number>
  /** Every semaphore's size and free permits. */
  readonly permits: Effect.Effect<PermitsView>
}

export const InternalsKey: unique symbol = Symbol.for("@sluice/request-admission/internals") as never

/** The internals of a controller built by this package (`undefined` for any other implementation). */
export const internalsOf = (admission: object): AdmissionInternals | undefined =>
  (admission as { readonly [InternalsKey]?: AdmissionInternals })[InternalsKey]
