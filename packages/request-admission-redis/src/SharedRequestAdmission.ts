/**
 * Request admission for a worker that shares its providers with other workers. Two gates, in this order:
 *
 * 1. the worker's own in-process controller (`@sluice/request-admission`), unchanged: its weighted-fair queue
 *    orders the worker's calls, and its static caps bound what the worker asks for;
 * 2. one shared lease from Redis (`SharedAdmission`), whose limit, cooldown and in-flight count every worker sees.
 *
 * A call runs only while it holds both. The release goes to the shared table first (so the freed slot is announced
 * at once), then to the local controller, each with the call's outcome. The shared AIMD parameters come from the
 * same `RequestAdmissionConfig` the local controller runs with, so both follow one set of rules.
 *
 * A model's `requestsPerMinute` / `tokensPerMinute` are enforced across workers, through Redis (`SharedBudget`):
 * between the two gates, holding the local lease, a call takes its budget from the shared buckets (waiting there
 * if it must), then its shared lease. The local controller runs without these budgets (one worker's bucket would
 * only repeat the shared one). A release that reports usage corrects the shared token bucket.
 */
import {
  type AcquireError,
  type ModelRegistration,
  make as makeLocal,
  RequestAdmissionConfig,
  RequestAdmissionConfigError,
  type RequestAdmissionConfigInput,
  type RequestAdmissionItem,
  type RequestAdmissionShape,
  type RequestLease,
  type ReleaseOutcome,
  type ReleaseResult
} from "@sluice/request-admission"
import {
  providerModelLabel,
  type RequestResourceKey,
  requestResourceLabel,
  toProviderModelKey
} from "@sluice/scheduling-resources"
import { Cause, Context, Effect, Exit, Layer, Schema } from "effect"
import * as Redis from "effect/persistence/Redis"
import type { BudgetRates } from "./budgetScripts.js"
import type { SharedAdmissionConfigInput } from "./config.js"
import type {
  SharedAdmissionConfigError,
  SharedAdmissionLeaseLost,
  SharedAdmissionShutdown,
  SharedAdmissionUnavailable
} from "./errors.js"
import { make as makeShared, type SharedAdmissionShape, type SharedLease } from "./SharedAdmission.js"
import { type BudgetCharge, makeSharedBudget, type SharedBudgetLevel } from "./SharedBudget.js"
import type { AimdParams } from "./scripts.js"

/** What a shared admission can fail with on top of the local controller's `AcquireError`. */
export type SharedAcquireError = SharedAdmissionUnavailable | SharedAdmissionShutdown | SharedAdmissionLeaseLost

export interface SharedRequestAdmissionShape {
  /** The worker's in-process controller (its pressure, events and inspection are the worker's own). */
  readonly local: RequestAdmissionShape
  readonly shared: SharedAdmissionShape
  /** Registers a static cap with the local controller and with the shared limit's ceiling. */
  readonly register: (registration: ModelRegistration) => Effect.Effect<void>
  /**
   * A local lease, then a shared one; runs `use` holding both; releases both. Call `release(lease, outcome)` inside
   * `use` to report the provider's answer; otherwise success → `success`, failure → `unexpected_exception`,
   * interruption → `local_cancelled`. If the shared lease is lost while `use` runs, `use` is interrupted and this
   * fails with `SharedAdmissionLeaseLost`.
   */
  readonly withLease: <A, E, R>(
    item: RequestAdmissionItem,
    use: (lease: RequestLease) => Effect.Effect<A, E, R>
  ) => Effect.Effect<A, E | AcquireError | SharedAcquireError, R>
  /** Releases the call's shared lease and then its local one, each exactly once. */
  readonly release: (lease: RequestLease, outcome: ReleaseOutcome) => Effect.Effect<ReleaseResult>
  /** The AIMD parameters the shared limit of `resource` follows. */
  readonly aimdOf: (resource: RequestResourceKey) => AimdParams
  /** The shared RPM / TPM buckets of a provider/model (`undefined`: no budget is configured for it). */
  readonly budget: (
    resource: RequestResourceKey
  ) => Effect.Effect<SharedBudgetLevel | undefined, SharedAdmissionUnavailable>
}

/** The budget fields go to the shared buckets, not to the local controller. */
const withoutBudget = (registration: ModelRegistration): ModelRegistration => {
  const { requestsPerMinute: _rpm, tokensPerMinute: _tpm, ...rest } = registration
  return rest
}

const outcomeOfExit = (exit: Exit.Exit<unknown, unknown>): ReleaseOutcome =>
  Exit.isSuccess(exit)
    ? { kind: "success" }
    : Cause.hasInterruptsOnly(exit.cause)
    ? { kind: "local_cancelled" }
    : { kind: "unexpected_exception" }

export const make = Effect.fnUntraced(function*(
  localConfig: RequestAdmissionConfigInput,
  sharedConfig: SharedAdmissionConfigInput
) {
  const config = yield* Schema.decodeUnknownEffect(RequestAdmissionConfig)(localConfig).pipe(
    Effect.mapError((error) => new RequestAdmissionConfigError({ field: "", message: error.message }))
  )
  const local = yield* makeLocal({ ...localConfig, models: config.models.map(withoutBudget) })
  const shared = yield* makeShared(sharedConfig)
  const budgets = makeSharedBudget(yield* Redis.Redis, {
    keyPrefix: shared.config.keyPrefix,
    commandTimeoutMs: Math.round(shared.config.commandTimeoutSeconds * 1000),
    maxSleepMs: 1000
  })

  // Budget rates per provider/model and alias; each rate is the minimum over the aliases that set it (as locally).
  const rates = new Map<string, Map<string, { readonly rpm: number; readonly tpm: number }>>()
  const addRates = (registration: ModelRegistration) => {
    const label = providerModelLabel({ provider: registration.provider, model: registration.model })
    let byAlias = rates.get(label)
    if (byAlias === undefined) {
      if (registration.requestsPerMinute === undefined && registration.tokensPerMinute === undefined) return
      rates.set(label, byAlias = new Map())
    }
    byAlias.set(registration.alias ?? label, {
      rpm: registration.requestsPerMinute ?? Infinity,
      tpm: registration.tokensPerMinute ?? Infinity
    })
  }
  for (const registration of config.models) addRates(registration)
  const ratesOf = (resource: RequestResourceKey): BudgetRates | undefined => {
    const byAlias = rates.get(providerModelLabel(toProviderModelKey(resource)))
    if (byAlias === undefined) return undefined
    let rpm = Infinity
    let tpm = Infinity
    for (const alias of byAlias.values()) {
      rpm = Math.min(rpm, alias.rpm)
      tpm = Math.min(tpm, alias.tpm)
    }
    if (rpm === Infinity && tpm === Infinity) return undefined
    return {
      requestsPerMinute: rpm === Infinity ? 0 : rpm,
      tokensPerMinute: tpm === Infinity ? 0 : tpm,
      burstSeconds: config.budgetBurstSeconds
    }
  }
  const tokensOf = (item: RequestAdmissionItem): number => {
    const estimate = item.estimatedTokens
    return estimate !== undefined && estimate >= 0 && Number.isFinite(estimate)
      ? Math.ceil(estimate)
      : config.defaultEstimatedTokens
  }

  /** The shared budget a call holds: `started` once its call may have reached the provider. */
  const charges = new Map<RequestLease, { readonly charge: BudgetCharge; started: boolean }>()

  /** Takes the call's shared budget before `body`; gives it back whole if the call never started. */
  const withBudget = <A, E, R>(
    item: RequestAdmissionItem,
    localLease: RequestLease,
    body: Effect.Effect<A, E, R>
  ): Effect.Effect<A, E | SharedAdmissionUnavailable, R> => {
    const budgetRates = ratesOf(item.resource)
    if (budgetRates === undefined) return body
    return Effect.uninterruptibleMask((restore) =>
      Effect.flatMap(
        restore(budgets.take(toProviderModelKey(item.resource), budgetRates, tokensOf(item))),
        (charge) => {
          charges.set(localLease, { charge, started: false })
          return Effect.onExit(body, () =>
            Effect.suspend(() => {
              const held = charges.get(localLease)
              charges.delete(localLease)
              // Settled already by `release` (with its usage), or the call never started: the whole charge back.
              return held === undefined ? Effect.void : budgets.settle(held.charge, undefined, !held.started)
            }))
        }
      )
    )
  }

  // Static caps per provider/model and alias; the shared limit's ceiling is their minimum (as locally).
  const caps = new Map<string, Map<string, number>>()
  const addCap = (registration: ModelRegistration) => {
    const label = providerModelLabel({ provider: registration.provider, model: registration.model })
    let byAlias = caps.get(label)
    if (byAlias === undefined) caps.set(label, byAlias = new Map())
    byAlias.set(registration.alias ?? label, Math.max(1, registration.maxParallelRequests))
  }
  for (const registration of config.models) addCap(registration)

  const aimdOf = (resource: RequestResourceKey): AimdParams => {
    const label = requestResourceLabel(resource)
    const byAlias = caps.get(providerModelLabel(toProviderModelKey(resource)))
    const staticCap = byAlias === undefined ? 1 : Math.min(...byAlias.values())
    const clamp = config.maxLimitClamps[label]
    const max = Math.max(1, clamp === undefined ? staticCap : Math.min(staticCap, clamp))
    return {
      max,
      initial: Math.max(1, Math.min(config.initialLimits[label] ?? max, max)),
      decreaseFactor: config.decreaseFactor,
      additiveIncreaseStep: config.additiveIncreaseStep,
      successesUntilIncrease: config.successesUntilIncrease,
      cooldownMs: config.cooldownSeconds * 1000,
      decreaseToInFlight: config.decreaseToInFlight,
      ceilingProbeBackoff: config.ceilingProbeBackoff
    }
  }

  const sharedOf = new Map<RequestLease, SharedLease>()

  const withLease = <A, E, R>(
    item: RequestAdmissionItem,
    use: (lease: RequestLease) => Effect.Effect<A, E, R>
  ): Effect.Effect<A, E | AcquireError | SharedAcquireError, R> =>
    local.withLease(
      item,
      (localLease) =>
        withBudget(
          item,
          localLease,
          Effect.uninterruptibleMask((restore) =>
            Effect.flatMap(shared.acquire(item.resource, aimdOf(item.resource)), (sharedLease) => {
              sharedOf.set(localLease, sharedLease)
              const held = charges.get(localLease)
              if (held !== undefined) held.started = true
              return restore(Effect.raceFirst(Effect.suspend(() => use(localLease)), shared.lost(sharedLease))).pipe(
                Effect.onExit((exit) => {
                  sharedOf.delete(localLease)
                  return shared.release(sharedLease, outcomeOfExit(exit))
                })
              )
            })
          )
        )
    )

  const release = (lease: RequestLease, outcome: ReleaseOutcome): Effect.Effect<ReleaseResult> =>
    Effect.uninterruptible(Effect.suspend(() => {
      const sharedLease = sharedOf.get(lease)
      sharedOf.delete(lease)
      const held = charges.get(lease)
      charges.delete(lease)
      const localRelease = local.release(lease, outcome)
      const released = sharedLease === undefined
        ? localRelease
        : Effect.andThen(shared.release(sharedLease, outcome), localRelease)
      return held === undefined ? released : Effect.andThen(budgets.settle(held.charge, outcome.usage, false), released)
    }))

  const register = (registration: ModelRegistration): Effect.Effect<void> =>
    Effect.andThen(
      Effect.sync(() => {
        addCap(registration)
        addRates(registration)
      }),
      local.register(withoutBudget(registration))
    )

  const budget = (resource: RequestResourceKey) => {
    const budgetRates = ratesOf(resource)
    return budgetRates === undefined
      ? Effect.succeed(undefined)
      : budgets.level(toProviderModelKey(resource), budgetRates)
  }

  const service: SharedRequestAdmissionShape = { local, shared, register, withLease, release, aimdOf, budget }
  return service
})

export class SharedRequestAdmission extends Context.Service<SharedRequestAdmission, SharedRequestAdmissionShape>()(
  "@sluice/request-admission-redis/SharedRequestAdmission"
) {
  /**
   * A local controller with `local` and shared admission with `shared`, over the `Redis` in context (e.g.
   * `NodeRedis.layer`). Both stop when the layer's scope closes.
   */
  static layer(
    local: RequestAdmissionConfigInput = {},
    shared: SharedAdmissionConfigInput = {}
  ): Layer.Layer<SharedRequestAdmission, RequestAdmissionConfigError | SharedAdmissionConfigError, Redis.Redis> {
    return Layer.effect(SharedRequestAdmission, make(local, shared))
  }
}
