/**
 * The shared RPM / TPM budgets: every worker takes a call's budget (1 request, its estimated tokens) from one
 * token-bucket pair per provider/model in Redis (`budgetScripts.ts`), so N workers together stay within the model's
 * `requestsPerMinute` / `tokensPerMinute`. A call that does not fit sleeps for as long as the bucket says (at most
 * `maxSleepMs`, so a rate raised meanwhile is seen) and asks again; the sleep is interruptible and takes nothing.
 * Redis unreachable: the take fails with `SharedAdmissionUnavailable` (fail closed).
 */
import type { RequestUsage } from "@sluice/request-admission"
import type { ProviderModelKey } from "@sluice/scheduling-resources"
import { providerModelLabel } from "@sluice/scheduling-resources"
import { Effect } from "effect"
import type * as Redis from "effect/persistence/Redis"
import { adjustScript, budgetKey, type BudgetRates, takeScript } from "./budgetScripts.js"
import { SharedAdmissionUnavailable } from "./errors.js"

/** What one call took from a shared budget. */
export interface BudgetCharge {
  readonly key: string
  readonly rates: BudgetRates
  /** Tokens charged (0 without a token budget). */
  readonly tokens: number
}

/** A provider/model's shared buckets now (`null`: that rate is not limited). */
export interface SharedBudgetLevel {
  readonly requestsAvailable: number | null
  readonly tokensAvailable: number | null
}

export interface SharedBudgetShape {
  /** Waits until the call's budget is taken from the shared buckets. */
  readonly take: (
    providerModel: ProviderModelKey,
    rates: BudgetRates,
    tokens: number
  ) => Effect.Effect<BudgetCharge, SharedAdmissionUnavailable>
  /**
   * The call ended: reported usage replaces its estimate (a refund if lower, debt if higher); `refund` gives the
   * whole charge back (the call was never made). Best effort: if Redis does not answer, the estimate stands.
   */
  readonly settle: (charge: BudgetCharge, usage: RequestUsage | undefined, refund: boolean) => Effect.Effect<void>
  readonly level: (
    providerModel: ProviderModelKey,
    rates: BudgetRates
  ) => Effect.Effect<SharedBudgetLevel, SharedAdmissionUnavailable>
}

const messageOf = (cause: unknown): string =>
  cause instanceof Error ? cause.message : typeof cause === "string" ? cause : "Redis did not answer"

export const makeSharedBudget = (
  redis: Redis.Redis["Service"],
  options: { readonly keyPrefix: string; readonly commandTimeoutMs: number; readonly maxSleepMs: number }
): SharedBudgetShape => {
  const takeEval = redis.eval(takeScript)
  const adjustEval = redis.eval(adjustScript)
  const keyOf = (providerModel: ProviderModelKey) => budgetKey(options.keyPrefix, providerModelLabel(providerModel))

  const bounded = <A>(effect: Effect.Effect<A, Redis.RedisError>, operation: string) =>
    effect.pipe(
      Effect.mapError((error) => new SharedAdmissionUnavailable({ operation, message: messageOf(error.cause) })),
      Effect.timeoutOrElse({
        duration: options.commandTimeoutMs,
        orElse: () =>
          Effect.fail(
            new SharedAdmissionUnavailable({
              operation,
              message: `Redis did not answer within ${options.commandTimeoutMs} ms`
            })
          )
      })
    )

  const take = (
    providerModel: ProviderModelKey,
    rates: BudgetRates,
    tokens: number
  ): Effect.Effect<BudgetCharge, SharedAdmissionUnavailable> => {
    const key = keyOf(providerModel)
    const charged = rates.tokensPerMinute > 0 ? tokens : 0
    const attempt: Effect.Effect<BudgetCharge, SharedAdmissionUnavailable> = Effect.flatMap(
      bounded(takeEval(key, rates, charged), "budget"),
      ([waitMs]) =>
        waitMs === 0
          ? Effect.succeed({ key, rates, tokens: charged })
          : Effect.andThen(Effect.sleep(Math.max(1, Math.min(waitMs, options.maxSleepMs))), attempt)
    )
    return attempt
  }

  const settle = (charge: BudgetCharge, usage: RequestUsage | undefined, refund: boolean): Effect.Effect<void> => {
    const tokens = refund
      ? charge.tokens
      : usage === undefined || !Number.isFinite(usage.totalTokens) || usage.totalTokens < 0
      ? 0
      : charge.tokens - usage.totalTokens
    const requests = refund ? 1 : 0
    if (requests === 0 && (tokens === 0 || charge.rates.tokensPerMinute === 0)) return Effect.void
    return Effect.ignore(bounded(adjustEval(charge.key, charge.rates, requests, tokens), "budget"))
  }

  const level = (providerModel: ProviderModelKey, rates: BudgetRates) =>
    Effect.map(bounded(adjustEval(keyOf(providerModel), rates, 0, 0), "budget"), ([requests, tokens]) => ({
      requestsAvailable: rates.requestsPerMinute > 0 ? Math.floor(Number(requests)) : null,
      tokensAvailable: rates.tokensPerMinute > 0 ? Math.floor(Number(tokens)) : null
    }))

  return { take, settle, level }
}
