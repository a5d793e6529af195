/**
 * Per provider/model RPM / TPM budgets: two token buckets (requests, tokens), each holding at most
 * `budgetBurstSeconds` worth (default: one minute's) and refilled continuously at `perMinute / 60 000` per ms. A
 * call is admitted only when it holds a concurrency lease and its budget: 1 request and its estimated tokens. A
 * call that needs more tokens than a full bucket waits for a full bucket and takes it into debt (later calls wait
 * until the debt is repaid), so it is neither refused nor starved. The estimate is corrected when the release
 * reports the usage.
 *
 * Plain data and synchronous helpers, used inside the controller's synchronous steps; the refill timer that
 * re-runs the pump is `BudgetGate.ts`'s.
 */
import type { ModelRegistration } from "../../config.js"
import type { ReleaseOutcome } from "../../ReleaseOutcome.js"
import type { ProviderModelBudget } from "../../RequestPressure.js"
import type { Pool } from "./records.js"

const MS_PER_MINUTE = 60_000
/** Float slack: a bucket refilled for exactly the computed wait counts as full enough. */
const EPSILON = 1e-9

/** One token bucket. `level` may go below 0 (debt: an oversized call, or usage above its estimate). */
export class Bucket {
  level: number
  /** The most it holds: `burstSeconds` worth of the rate, at least 1. */
  capacity: number
  private updatedAt: number

  constructor(public perMinute: number, private readonly burstSeconds: number, now: number) {
    this.capacity = capacityOf(perMinute, burstSeconds)
    this.level = this.capacity
    this.updatedAt = now
  }

  /** The level at `now`, without changing anything. */
  levelAt(now: number): number {
    const elapsed = now - this.updatedAt
    return elapsed <= 0 ? this.level : Math.min(this.capacity, this.level + elapsed * this.perMinute / MS_PER_MINUTE)
  }

  refill(now: number): void {
    this.level = this.levelAt(now)
    if (now > this.updatedAt) this.updatedAt = now
  }

  /** Ms until `amount` (at most a full bucket) is available; 0 when it is now. Call after `refill`. */
  waitFor(amount: number): number {
    const need = Math.min(amount, this.capacity)
    if (this.level + EPSILON >= need) return 0
    return Math.max(1, Math.ceil((need - this.level) * MS_PER_MINUTE / this.perMinute))
  }

  /** A new rate keeps the level, clamped to the new capacity. */
  setRate(perMinute: number, now: number): void {
    this.refill(now)
    this.perMinute = perMinute
    this.capacity = capacityOf(perMinute, this.burstSeconds)
    if (this.level > this.capacity) this.level = this.capacity
  }

  /** Gives back `amount` (never above a full bucket). */
  give(amount: number): void {
    this.level = Math.min(this.capacity, this.level + amount)
  }
}

const capacityOf = (perMinute: number, burstSeconds: number): number => Math.max(1, perMinute * burstSeconds / 60)

/** What one admitted call took from its budget; kept on its lease until the release corrects or keeps it. */
export interface Charge {
  readonly budget: Budget
  tokens: number
  settled: boolean
}

export type BudgetLimit = "requests_per_minute" | "tokens_per_minute"

export class Budget {
  requests: Bucket | undefined
  tokens: Bucket | undefined
  /** The refill timer: whether one runs, and until when it sleeps; `epoch` tells a superseded one to stop. */
  timerRunning = false
  timerWakeAt = 0
  timerEpoch = 0
  /** What the last failed check lacked (for the event and denials). */
  lacking: BudgetLimit = "requests_per_minute"

  constructor(
    readonly pool: Pool,
    private readonly burstSeconds: number,
    rpm: number | undefined,
    tpm: number | undefined,
    now: number
  ) {
    this.requests = rpm === undefined ? undefined : new Bucket(rpm, burstSeconds, now)
    this.tokens = tpm === undefined ? undefined : new Bucket(tpm, burstSeconds, now)
  }

  /** Ms until a call costing `tokens` fits; 0 when it fits now. Sets `lacking` when it does not. */
  waitFor(tokens: number, now: number): number {
    let wait = 0
    const requests = this.requests
    if (requests !== undefined) {
      requests.refill(now)
      wait = requests.waitFor(1)
      if (wait > 0) this.lacking = "requests_per_minute"
    }
    const bucket = this.tokens
    if (bucket !== undefined) {
      bucket.refill(now)
      const tokenWait = bucket.waitFor(tokens)
      if (tokenWait > wait) {
        wait = tokenWait
        this.lacking = "tokens_per_minute"
      }
    }
    return wait
  }

  /** Takes one call's budget if it fits now. */
  tryCharge(tokens: number, now: number): Charge | undefined {
    if (this.waitFor(tokens, now) > 0) return undefined
    if (this.requests !== undefined) this.requests.level -= 1
    const charged = this.tokens === undefined ? 0 : tokens
    if (this.tokens !== undefined) this.tokens.level -= charged
    return { budget: this, tokens: charged, settled: false }
  }

  setRates(rpm: number | undefined, tpm: number | undefined, now: number): void {
    if (rpm === undefined) this.requests = undefined
    else if (this.requests === undefined) this.requests = new Bucket(rpm, this.burstSeconds, now)
    else this.requests.setRate(rpm, now)
    if (tpm === undefined) this.tokens = undefined
    else if (this.tokens === undefined) this.tokens = new Bucket(tpm, this.burstSeconds, now)
    else this.tokens.setRate(tpm, now)
  }
}

/** The tokens an item is charged: its own valid estimate, else the configured default. */
export const tokensOf = (item: { readonly estimatedTokens?: number | undefined }, fallback: number): number => {
  const estimate = item.estimatedTokens
  return estimate !== undefined && estimate >= 0 && Number.isFinite(estimate) ? Math.ceil(estimate) : fallback
}

/**
 * The release's word on a charge: reported usage replaces the estimate (a refund if it was lower, debt if
 * higher). Returns true when tokens came back, so that waiters may fit now. Without usage the estimate stands.
 */
export const settleCharge = (charge: Charge, outcome: ReleaseOutcome, now: number): boolean => {
  if (charge.settled) return false
  charge.settled = true
  const usage = outcome.usage
  const bucket = charge.budget.tokens
  if (usage === undefined || bucket === undefined) return false
  const actual = usage.totalTokens
  if (!(actual >= 0) || !Number.isFinite(actual)) return false
  bucket.refill(now)
  const delta = charge.tokens - actual
  bucket.give(delta)
  charge.tokens = actual
  return delta > 0
}

/** A charge given back whole: the call was never made (a lease handed to a waiter interrupted before it ran). */
export const refundCharge = (charge: Charge, now: number): void => {
  if (charge.settled) return
  charge.settled = true
  const budget = charge.budget
  if (budget.requests !== undefined) {
    budget.requests.refill(now)
    budget.requests.give(1)
  }
  if (budget.tokens !== undefined) {
    budget.tokens.refill(now)
    budget.tokens.give(charge.tokens)
  }
}

/** The budget of each provider/model: the minimum over its aliases of each rate (as for the static cap). */
export class Budgets {
  constructor(private readonly burstSeconds: number) {}

  private readonly byPool = new Map<Pool, Map<string, { rpm: number | undefined; tpm: number | undefined }>>()

  /** Records one alias's rates and sets (or drops) the pool's budget. True when the budget may admit more now. */
  register(pool: Pool, alias: string, registration: ModelRegistration, now: number): boolean {
    let aliases = this.byPool.get(pool)
    const rpm = registration.requestsPerMinute
    const tpm = registration.tokensPerMinute
    if (aliases === undefined) {
      if (rpm === undefined && tpm === undefined) return false
      this.byPool.set(pool, aliases = new Map())
    }
    aliases.set(alias, { rpm, tpm })
    let minRpm: number | undefined
    let minTpm: number | undefined
    for (const rates of aliases.values()) {
      if (rates.rpm !== undefined) minRpm = minRpm === undefined ? rates.rpm : Math.min(minRpm, rates.rpm)
      if (rates.tpm !== undefined) minTpm = minTpm === undefined ? rates.tpm : Math.min(minTpm, rates.tpm)
    }
    const before = pool.budget
    if (minRpm === undefined && minTpm === undefined) {
      pool.budget = undefined
      return before !== undefined
    }
    if (before === undefined) {
      pool.budget = new Budget(pool, this.burstSeconds, minRpm, minTpm, now)
      return false
    }
    before.setRates(minRpm, minTpm, now)
    return true
  }
}

/** The budget view of a provider/model: its rates and what is available now (negative: debt). */
export const budgetView = (budget: Budget, now: number): ProviderModelBudget => ({
  requestsPerMinute: budget.requests?.perMinute ?? null,
  requestsAvailable: budget.requests === undefined ? null : Math.floor(budget.requests.levelAt(now)),
  tokensPerMinute: budget.tokens?.perMinute ?? null,
  tokensAvailable: budget.tokens === undefined ? null : Math.floor(budget.tokens.levelAt(now))
})
