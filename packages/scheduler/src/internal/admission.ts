import type { AdmissionPolicyName } from "../Spec.js"
import { SUBMISSION } from "./resolve.js"

/** Why a head task may not start now. */
export type DenyReason = "no_capacity" | "group_cap" | "borrow_debt"

export interface GroupInfo {
  readonly weight: number
  readonly admittedLimit: number | undefined
  readonly resources: ReadonlyArray<number>
}

/**
 * Task admission: a ledger of leased amounts over the scheduler resources (`submission`, `llm_wait`,
 * `request:{p}/{m}`), with a fairness policy on top.
 *
 * Limits can change at runtime (the request layer's live capacity). A decrease below what is leased behaves like
 * `Semaphore.resize`: holders keep their slots and nobody new gets in until leased < limit.
 *
 * Policies (DESIGN §5):
 * - `bounded-borrow` (default): a group's strict share of a resource is ⌈limit × w / Σw⌉ over the groups whose
 *   heads compete for it (a lone group competes with a synthetic equal peer). A group may exceed its share only
 *   while no eligible peer wants the resource, and records the excess as debt; an indebted group yields to any
 *   eligible peer until releases repay the debt.
 * - `strict-fair`: a group is capped at its admitted limit whenever an eligible peer wants one of its resources.
 */
export class AdmissionLedger {
  readonly limits: Array<number>
  readonly leased: Array<number>
  /** Highest leased amount seen per resource. */
  readonly maxLeased: Array<number>
  private readonly groupLeased: Array<Array<number>>
  private readonly running: Array<number>
  private readonly debt: Array<Array<number>>
  private readonly pendingBorrow: Array<number> = []
  leases = 0

  constructor(
    limits: ReadonlyArray<number>,
    private readonly groups: ReadonlyArray<GroupInfo>,
    private readonly policy: AdmissionPolicyName
  ) {
    this.limits = [...limits]
    this.leased = limits.map(() => 0)
    this.maxLeased = limits.map(() => 0)
    this.groupLeased = groups.map(() => limits.map(() => 0))
    this.debt = groups.map(() => limits.map(() => 0))
    this.running = groups.map(() => 0)
  }

  setLimit(resource: number, limit: number): void {
    this.limits[resource] = Math.max(0, limit)
  }

  hardEligible(group: number): boolean {
    for (const r of this.groups[group]!.resources) {
      if (this.leased[r]! + 1 > this.limits[r]!) return false
    }
    return true
  }

  /**
   * Evaluates the head of `group` against the ledger and the policy. `peers` are the other groups with queued
   * work (their heads are the competitors). On success the borrow to record at acquire is kept for `acquire`.
   */
  evaluate(group: number, peers: ReadonlyArray<number>): DenyReason | undefined {
    if (!this.hardEligible(group)) return "no_capacity"
    const info = this.groups[group]!
    this.pendingBorrow.length = 0
    if (info.admittedLimit === undefined) return undefined
    const fair = info.resources.length > 1 ? info.resources.filter((r) => r !== SUBMISSION) : info.resources
    if (this.policy === "strict-fair") {
      if (this.running[group]! < info.admittedLimit) return undefined
      for (const r of fair) if (this.pressured(group, r, peers)) return "group_cap"
      return undefined
    }
    for (const r of info.resources) {
      const projected = this.groupLeased[group]![r]! + 1
      const debt = this.debt[group]![r]!
      const share = this.strictShare(group, r, peers)
      if (fair.includes(r) && this.pressured(group, r, peers)) {
        if (debt > 0) return "borrow_debt"
        if (projected > share) return "group_cap"
        continue
      }
      if (projected <= share) continue
      const newDebt = Math.min(1, projected - share)
      const ceiling = Math.max(0, this.limits[r]! - share)
      if (debt + newDebt > ceiling) return "borrow_debt"
      this.pendingBorrow.push(r)
    }
    return undefined
  }

  /** Takes the lease evaluated just before (same synchronous step). */
  acquire(group: number): void {
    for (const r of this.groups[group]!.resources) {
      this.leased[r]!++
      if (this.leased[r]! > this.maxLeased[r]!) this.maxLeased[r] = this.leased[r]!
      this.groupLeased[group]![r]!++
    }
    for (const r of this.pendingBorrow) this.debt[group]![r]!++
    this.pendingBorrow.length = 0
    this.running[group]!++
    this.leases++
  }

  /** Releases one lease of `group`; any release of the group repays its debt on the resources it held. */
  release(group: number): void {
    for (const r of this.groups[group]!.resources) {
      this.leased[r]!--
      this.groupLeased[group]![r]!--
      if (this.debt[group]![r]! > 0) this.debt[group]![r]!--
    }
    this.running[group]!--
    this.leases--
  }

  debtEntries(): number {
    let n = 0
    for (const row of this.debt) for (const d of row) if (d > 0) n++
    return n
  }

  /** A peer exerts pressure on `r` if its head requests `r` and could start right now. */
  private pressured(group: number, r: number, peers: ReadonlyArray<number>): boolean {
    for (const peer of peers) {
      if (peer !== group && this.groups[peer]!.resources.includes(r) && this.hardEligible(peer)) return true
    }
    return false
  }

  private strictShare(group: number, r: number, peers: ReadonlyArray<number>): number {
    const limit = this.limits[r]!
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
