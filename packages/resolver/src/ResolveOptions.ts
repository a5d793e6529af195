import { Effect } from "effect"
import type { CapacitySource } from "./CapacityPlan.js"
import { ResolverConfigError } from "./ResolverConfigError.js"

/**
 * The default `maxInFlightTasks` (anchor value): the `submission` limit and, unless overridden, the
 * `llm_wait` limit and the cap of model groups' admitted limits.
 *
 * @since 0.1.0
 */
export const defaultMaxInFlightTasks = 1024

/**
 * A model or custom-model group may have at most this many times its weight admitted at once (anchor
 * value): enough backlog to keep its endpoint busy, not enough to crowd out other groups.
 *
 * @since 0.1.0
 */
export const modelGroupAdmissionMultiplier = 2

/**
 * Run options of {@link resolveScheduling}. `maxModelTaskAdmission` defaults to `maxInFlightTasks`.
 *
 * @since 0.1.0
 */
export interface ResolveOptions {
  readonly maxInFlightTasks?: number | undefined
  readonly maxModelTaskAdmission?: number | undefined
}

/** A validated option with where it came from, for the capacity plan. */
export interface SourcedValue {
  readonly value: number
  readonly source: CapacitySource
  readonly detail: string
}

/** Validated options. */
export interface EffectiveOptions {
  readonly maxInFlightTasks: SourcedValue
  readonly maxModelTaskAdmission: SourcedValue
}

const isPositiveInteger = (n: unknown): n is number => typeof n === "number" && Number.isSafeInteger(n) && n >= 1

const invalid = (field: string, value: unknown) =>
  new ResolverConfigError({ field, message: `${field}: expected an integer ≥ 1, got ${String(value)}` })

/**
 * Validates the options (each, when given, an integer ≥ 1) and fills in the defaults, recording
 * the source of each value.
 *
 * @since 0.1.0
 */
export const effectiveOptions = Effect.fnUntraced(function*(
  options: ResolveOptions
): Effect.fn.Return<EffectiveOptions, ResolverConfigError> {
  const { maxInFlightTasks, maxModelTaskAdmission } = options
  if (maxInFlightTasks !== undefined && !isPositiveInteger(maxInFlightTasks)) {
    return yield* invalid("maxInFlightTasks", maxInFlightTasks)
  }
  if (maxModelTaskAdmission !== undefined && !isPositiveInteger(maxModelTaskAdmission)) {
    return yield* invalid("maxModelTaskAdmission", maxModelTaskAdmission)
  }
  const inFlight: SourcedValue = maxInFlightTasks === undefined
    ? { value: defaultMaxInFlightTasks, source: "default", detail: "maxInFlightTasks (default)" }
    : { value: maxInFlightTasks, source: "config", detail: "maxInFlightTasks" }
  const modelAdmission: SourcedValue = maxModelTaskAdmission === undefined
    ? { ...inFlight, detail: `maxModelTaskAdmission = ${inFlight.detail}` }
    : { value: maxModelTaskAdmission, source: "config", detail: "maxModelTaskAdmission" }
  return { maxInFlightTasks: inFlight, maxModelTaskAdmission: modelAdmission }
})
