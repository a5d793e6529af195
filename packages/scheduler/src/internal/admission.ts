import { Effect, Semaphore } from "effect"
import type { AdmissionPolicyName } from "../SchedulerOptions.js"
import { SUBMISSION } from "./resourceTable.js"

/** Why a head task may not start now. */
export type DenyReason = "no_capacity" | "group_cap" | "borrow_debt"

export interface GroupInfo {
  readonly weight: number
  readonly admittedLimit: number | undefined
  readonly resources: ReadonlyArray<number>
}

/**
 * One limit: a `Semaphore` and the size it was last given (a semaphore does not report its size). Tasks never wait
 * on it — they wait in the fair ready queue — so it is only used without blocking: `takeIfAvailable`, `release`,
 * `resize`, and `release(0)` to read what is free.
 */
export class Gate {
  readonly semaphore: Semaphore.Semaphore
  /** Highest number of permits held at once. */
  maxLeased = 0

  constructor(readonly key: string, public limit: number) {
    this.semaphore = Semaphore.makeUnsafe(limit)
  }

  /** Permits held (more than `limit` after a shrink, until holders release). */
  readonly leased: Effect.Effect<number> = Effect.suspend(() => this.semaphore.release(0)).pipe(
    Effect.map((free) => this.limit - free)
  )
}

/**
 * Task admission: one `Semaphore` per scheduler resource (`submission`, `llm_wait`, `request:{p}/{m}`, and
 * `request:{p}/{m}/{domain}`) and per group admitted limit, with a fairness policy on top. A lease holds one permit
 * of each resource its group requests.
 *
 * Limits change at runtime (the request layer's live capacity) through `resize`: holders keep their permits and
 * nobody new gets in until fewer are held than the new limit.
 *
 * The dispatcher evaluates many candidates per step, so it reads the free permits of every semaphore once at the
 * start of its step (`refresh`) and keeps that view in step with the permits the step itself takes; nothing else
 * runs during a step, and the next step reads the semaphores again, so the view never drifts from them.
 *
 * Policies:
 * - `bounded-borrow` (default): a group's strict share of a resource is `limit × w / Σw` (rounded to nearest, at
 *   least 1, at most its admitted limit) over the groups whose heads compete for it (a lone group competes with a
 *   synthetic equal peer). A group may exceed its share only while no eligible peer wants the resource, and records
 *   the excess as debt; an indebted group yields to any eligible peer until its releases repay the debt.
 * - `strict-fair`: a group is capped at its admitted limit whenever an eligible peer wants one of its resources.
 *
 * A group's admitted limit is a semaphore too. Leases beyond it — which a policy allows while no peer presses — hold
 * no group permit and are counted as over the cap; a release of the group ends one of those first, so a group
 * holds `admittedLimit − free + overCap` leases.
 */
export class AdmissionLedger {
  readonly gates: ReadonlyArray<Gate>
  readonly groupGates: ReadonlyArray<Gate | undefined>
  private readonly free: Array<number>
  private readonly groupFree: Array<number>
  private readonly overCap: Array<number>
  private readonly debt: Array<Array<number>>
  private readonly pendingBorrow: Array<number> = []

  constructor(
    resources: ReadonlyArray<{ readonly key: string; readonly limit: number }>,
    private readonly groups: ReadonlyArray<GroupInfo & { readonly key: string }>,
    private readonly policy: AdmissionPolicyName
  ) {
    this.gates = resources.map((r) => new Gate(r.key, r.limit))
    this.groupGates = groups.map((g) => g.admittedLimit === undefined ? undefined : new Gate(g.key, g.admittedLimit))
    this.free = resources.map((r) => r.limit)
    this.groupFree = groups.map((g) => g.admittedLimit ?? 0)
    this.overCap = groups.map(() => 0)
    this.debt = groups.map(() => resources.map(() => 0))
  }

  /** Reads the free permits of every semaphore (start of a dispatcher step). */
  readonly refresh: Effect.Effect<void> = Effect.suspend(() =>
    Effect.forEach(this.gates, (gate, i) =>
      Effect.map(gate.semaphore.release(0), (free) => {
        this.free[i] = free
      }), { discard: true }).pipe(
        Effect.andThen(
          Effect.forEach(
            this.groupGates,
            (gate, i) =>
              gate === undefined ? Effect.void : Effect.map(gate.semaphore.release(0), (free) => {
                this.groupFree[i] = free
              }),
            { discard: true }
          )
        )
      )
  )

  limit(resource: number): number {
    return this.gates[resource]!.limit
  }

  resize(resource: number, limit: number): Effect.Effect<void> {
    const gate = this.gates[resource]!
    return Effect.suspend(() => {
      gate.limit = Math.max(0, limit)
      return gate.semaphore.resize(gate.limit)
    })
  }

  hardEligible(group: number): boolean {
    for (const r of this.groups[group]!.resources) if (this.free[r]! < 1) return false
    return true
  }

  /**
   * Evaluates the head of `group` against the free permits and the policy. `peers` are the groups with queued work
   * (their heads are the competitors). On success the borrow to record is kept for `acquire`, in the same step.
   */
  evaluate(group: number, peers: ReadonlyArray<number>): DenyReason | undefined {
    if (!this.hardEligible(group)) return "no_capacity"
    const info = this.groups[group]!
    this.pendingBorrow.length = 0
    if (info.admittedLimit === undefined) return undefined
    const held = this.held(group)
    const fair = info.resources.length > 1 ? info.resources.filter((r) => r !== SUBMISSION) : info.resources
    if (this.policy === "strict-fair") {
      if (held < info.admittedLimit) return undefined
      for (const r of fair) if (this.pressured(group, r, peers)) return "group_cap"
      return undefined
    }
    for (const r of info.resources) {
      const projected = held + 1
      const debt = this.debt[group]![r]!
      const share = this.strictShare(group, r, peers)
      if (fair.includes(r) && this.pressured(group, r, peers)) {
        if (debt > 0) return "borrow_debt"
        if (projected > share) return "group_cap"
        continue
      }
      if (projected <= share) continue
      const newDebt = Math.min(1, projected - share)
      const ceiling = Math.max(0, this.gates[r]!.limit - share)
      if (debt + newDebt > ceiling) return "borrow_debt"
      this.pendingBorrow.push(r)
    }
    return undefined
  }

  /** Takes the lease evaluated just before, in the same step: one permit of each resource, and a group permit. */
  acquire(group: number): Effect.Effect<void> {
    return Effect.suspend(() => {
      const info = this.groups[group]!
      for (const r of this.pendingBorrow) this.debt[group]![r]!++
      this.pendingBorrow.length = 0
      const takes: Array<Effect.Effect<void>> = info.resources.map((r) => {
        const gate = this.gates[r]!
        return Effect.flatMap(gate.semaphore.takeIfAvailable(1), (taken) => {
          if (!taken) return Effect.die(`task admission: ${gate.key} had no free permit after evaluation`)
          const free = --this.free[r]!
          gate.maxLeased = Math.max(gate.maxLeased, gate.limit - free)
          return Effect.void
        })
      })
      const gate = this.groupGates[group]
      if (gate !== undefined) {
        takes.push(Effect.map(gate.semaphore.takeIfAvailable(1), (taken) => {
          if (taken) {
            const free = --this.groupFree[group]!
            gate.maxLeased = Math.max(gate.maxLeased, gate.limit - free)
          } else {
            this.overCap[group]!++
          }
        }))
      }
      return Effect.all(takes, { discard: true })
    })
  }

  /** Releases one lease of `group`; any release of the group repays its debt on the resources it holds. */
  release(group: number): Effect.Effect<void> {
    return Effect.suspend(() => {
      const info = this.groups[group]!
      const releases: Array<Effect.Effect<number>> = []
      for (const r of info.resources) {
        if (this.debt[group]![r]! > 0) this.debt[group]![r]!--
        releases.push(this.gates[r]!.semaphore.release(1))
      }
      const gate = this.groupGates[group]
      if (gate !== undefined) {
        if (this.overCap[group]! > 0) this.overCap[group]!--
        else releases.push(gate.semaphore.release(1))
      }
      return Effect.all(releases, { discard: true })
    })
  }

  debtEntries(): number {
    let n = 0
    for (const row of this.debt) for (const d of row) if (d > 0) n++
    return n
  }

  /** Leases the group holds: its permits plus those over its admitted limit. */
  private held(group: number): number {
    return this.groups[group]!.admittedLimit! - this.groupFree[group]! + this.overCap[group]!
  }

  /** A peer exerts pressure on `r` if its head requests `r` and could start right now. */
  private pressured(group: number, r: number, peers: ReadonlyArray<number>): boolean {
    for (const peer of peers) {
      if (peer !== group && this.groups[peer]!.resources.includes(r) && this.hardEligible(peer)) return true
    }
    return false
  }

  private strictShare(group: number, r: number, peers: ReadonlyArray<number>): number {
    const limit = this.gates[r]!.limit
    if (limit <= 0) return 0
    if (limit === 1) return 1
    const info = this.groups[group]!
    const w = Math.max(1, info.weight)
    let total = w
    let alone = true
    for (const peer of peers) {
      if (peer === group) continue
      const p = this.groups[peer]!
      if (p.resources.includes(r) && this.hardEligible(peer)) {
        total += Math.max(1, p.weight)
        alone = false
      }
    }
    if (alone) total = 2 * w
    let share = Math.max(1, Math.round((limit * w) / total))
    if (info.admittedLimit !== undefined) share = Math.min(share, info.admittedLimit)
    return Math.min(share, limit)
  }
}
