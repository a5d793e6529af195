/**
 * The budgets' part in admission: whether the pool's next waiter fits its RPM / TPM budget, charging it, and —
 * when it does not fit — one refill timer per provider/model that re-runs the pump when the bucket will hold
 * enough. Waiters stay in the fair queue meanwhile (nothing polls); other provider/models have queues and
 * budgets of their own and keep flowing.
 */
import { Effect, type Fiber, type Scope } from "effect"
import type { ResolvedConfig } from "../../config.js"
import type { RequestAdmissionItem } from "../../RequestLease.js"
import type { Lifecycle } from "../Lifecycle.js"
import type { Outbox } from "../outbox/Outbox.js"
import type { Waiter } from "../queue/WaiterQueue.js"
import { type Budget, type Charge, tokensOf } from "./budget.js"

export interface BudgetGate {
  /** Ms until `item` fits the budget (0: now). */
  readonly waitFor: (budget: Budget, item: RequestAdmissionItem, now: number) => number
  /** Charges `item` to the budget if it fits now. */
  readonly charge: (budget: Budget, item: RequestAdmissionItem, now: number) => Charge | undefined
  /**
   * The pool's next waiter lacks budget for `waitMs`: makes sure `rerun` (the pump) runs by then, and tells
   * subscribers once per timer. A step of `fiber`; the returned effect forks the timer.
   */
  readonly blocked: (
    budget: Budget,
    waiter: Waiter,
    waitMs: number,
    now: number,
    fiber: Fiber.Fiber<unknown, unknown>,
    rerun: Effect.Effect<void>
  ) => Effect.Effect<void>
}

export const makeBudgetGate = (
  config: ResolvedConfig,
  outbox: Outbox,
  lifecycle: Lifecycle,
  scope: Scope.Scope
): BudgetGate => {
  const fallback = config.defaultEstimatedTokens

  const waitFor = (budget: Budget, item: RequestAdmissionItem, now: number): number =>
    budget.waitFor(tokensOf(item, fallback), now)

  const charge = (budget: Budget, item: RequestAdmissionItem, now: number): Charge | undefined =>
    budget.tryCharge(tokensOf(item, fallback), now)

  const timer = (budget: Budget, epoch: number, sleepMs: number, rerun: Effect.Effect<void>) =>
    Effect.andThen(
      Effect.sleep(sleepMs),
      Effect.uninterruptible(Effect.suspend(() => {
        // Superseded by a timer that wakes earlier, or the controller stopped.
        if (budget.timerEpoch !== epoch || lifecycle.shutdown) return Effect.void
        budget.timerRunning = false
        return rerun
      }))
    )

  const blocked = (
    budget: Budget,
    waiter: Waiter,
    waitMs: number,
    now: number,
    fiber: Fiber.Fiber<unknown, unknown>,
    rerun: Effect.Effect<void>
  ): Effect.Effect<void> => {
    const wakeAt = now + waitMs
    if (lifecycle.shutdown || (budget.timerRunning && budget.timerWakeAt <= wakeAt)) return Effect.void
    budget.timerRunning = true
    budget.timerWakeAt = wakeAt
    const epoch = ++budget.timerEpoch
    if (outbox.listening()) {
      outbox.emit(now, {
        _tag: "request_budget_wait",
        resource: waiter.domain.resource,
        group: waiter.flow.group,
        limit: budget.lacking,
        retryInMs: waitMs,
        waiters: budget.pool.queued
      })
      outbox.schedule(fiber)
    }
    return Effect.asVoid(Effect.forkIn(Effect.interruptible(timer(budget, epoch, waitMs, rerun)), scope))
  }

  return { waitFor, charge, blocked }
}
