/**
 * The pump: hands free capacity of a provider/model to its queued waiters, best first, until nothing more fits.
 * Whoever frees capacity (a release, a larger limit, the end of a cooldown, a new waiter) pumps.
 *
 * Each turn picks the domain whose next waiter comes first, takes that lease's two permits from the semaphores,
 * then, in one synchronous step, admits the waiter and queues its wake-up in the outbox. Other fibers may run
 * between taking the permits and that step; if the queue, the cooldown or a pending resize no longer allow the
 * admission, the permits go back and the turn starts over.
 *
 * One pump per pool at a time. A fiber may yield between any two effects, so two pumps running side by side could
 * each fail to take a permit the other holds for a moment, and both stop with a waiter left behind (a lost
 * wake-up). Asked for while one runs, a pump only marks the pool; the running one serves the queue again before
 * it stops. Whoever else takes permits outside a pump and gives them back (a rollback, a hot-path miss, a static
 * cap found full) asks for a pump afterwards when the queue is not empty.
 *
 * A provider/model with an RPM / TPM budget admits its next waiter only when the budget holds that call's share
 * too; otherwise the pump stops and the budget's refill timer runs it again (`BudgetGate`). The waiter keeps its
 * place: no later, cheaper call overtakes it, so a large call is never starved.
 */
import { Effect, Exit } from "effect"
import { nowOf } from "../clock.js"
import type { Leases } from "../leases/Leases.js"
import type { BudgetGate } from "../limits/BudgetGate.js"
import { isClosed } from "../limits/arithmetic.js"
import { type Domain, LIMIT_FULL, type Pool, TAKEN } from "../limits/records.js"
import type { Outbox } from "../outbox/Outbox.js"
import { compareHeads, GRANTED, headOf, serveHead } from "../queue/WaiterQueue.js"

/**
 * Serves the pool's queue: at most `grants` admissions (a release frees one lease's permits, so it pumps for one),
 * or until nothing fits. Run it uninterruptibly: permits taken for a waiter must reach it or go back.
 */
export type Pump = (pool: Pool, grants?: number) => Effect.Effect<void>

export const makePump = (leases: Leases, outbox: Outbox, budgets: BudgetGate): Pump => {
  /** The open domain (not in `full`) whose next waiter is served first, if any may be admitted now. */
  const best = (pool: Pool, now: number, full: number): Domain | undefined => {
    if (pool.permits.resizing !== 0) return undefined
    const domains = pool.domains
    let found: Domain | undefined
    for (let i = 0; i < domains.length; i++) {
      const domain = domains[i]!
      if (
        (full & (1 << i)) !== 0 || domain.queue.heap.size === 0 || domain.permits.resizing !== 0 ||
        isClosed(domain, now)
      ) continue
      if (found === undefined || compareHeads(domain.queue, found.queue) < 0) found = domain
    }
    return found
  }

  /** `full`: domains whose adaptive limit was found full in this pump (a bit per domain index). */
  const serve = (pool: Pool, full: number, grants: number): Effect.Effect<void> =>
    Effect.withFiber((fiber) => {
      if (pool.queue.queued === 0 || grants === 0) return Effect.void
      const now = nowOf(fiber)
      const domain = best(pool, now, full)
      if (domain === undefined) return Effect.void
      const budget = pool.budget
      if (budget !== undefined) {
        const head = headOf(domain.queue)!
        const waitMs = budgets.waitFor(budget, head.item, now)
        if (waitMs > 0) return budgets.blocked(budget, head, waitMs, now, fiber, pump(pool))
      }
      return Effect.flatMap(domain.takeBoth, (taken) =>
        taken === TAKEN
          ? grant(pool, domain, full, grants)
          : taken === LIMIT_FULL
          ? serve(pool, full | (1 << domain.index), grants)
          // The static cap is full: no domain of the pool fits.
          : Effect.void)
    })

  const grant = (pool: Pool, domain: Domain, full: number, grants: number): Effect.Effect<void> =>
    Effect.withFiber((fiber) => {
      const now = nowOf(fiber)
      if (domain.queue.heap.size === 0 || domain.resizing || isClosed(domain, now)) {
        return Effect.andThen(domain.giveBoth, serve(pool, full, grants))
      }
      const budget = pool.budget
      // Another fiber may have spent the budget since `serve` checked it: `serve` then arms the refill timer.
      const charge = budget === undefined ? undefined : budgets.charge(budget, headOf(domain.queue)!.item, now)
      if (budget !== undefined && charge === undefined) {
        return Effect.andThen(domain.giveBoth, serve(pool, full, grants))
      }
      const waiter = serveHead(domain.queue)!
      const waitedMs = Math.max(0, now - waiter.enqueuedAt)
      const lease = leases.admit(domain, waiter.flow.group, fiber, waitedMs, true)
      lease.charge = charge
      waiter.lease = lease
      waiter.state = GRANTED
      outbox.pushGrant(waiter)
      outbox.schedule(fiber)
      return serve(pool, full, grants - 1)
    })

  /** Serves again while another pump was asked for meanwhile; stops in the same step that finds none was. */
  const finish = (pool: Pool): Effect.Effect<void> =>
    Effect.suspend(() => {
      if (!pool.pumpAgain) {
        pool.pumping = false
        return Effect.void
      }
      pool.pumpAgain = false
      return Effect.andThen(serve(pool, 0, Infinity), finish(pool))
    })

  /** A defect inside a pump must not leave the pool marked as pumped forever. */
  const unmark = (pool: Pool) => (exit: Exit.Exit<void>) => {
    if (Exit.isFailure(exit)) pool.pumping = false
    return undefined
  }

  const pump: Pump = (pool, grants = Infinity) =>
    Effect.suspend(() => {
      if (pool.pumping) {
        pool.pumpAgain = true
        return Effect.void
      }
      pool.pumping = true
      return Effect.onExitPrimitive(Effect.andThen(serve(pool, 0, grants), finish(pool)), unmark(pool))
    })

  return pump
}
