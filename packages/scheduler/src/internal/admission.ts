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
 * The dispatcher evaluates many candidates per step, so the ledger keeps a view of the free permits of every
 * semaphore. The view is always the semaphore's own answer, never a second count: each `release` stores the free
 * count the semaphore reports after it, `resize` reads it back with `release(0)`, and a step's leases lower it and
 * take the same permits from each semaphore at once when the step ends (`takeGranted`); nothing else runs during a
 * step, and no one else touches the semaphores.
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
  /** Per group, the resources its share is judged on: all but `submission`, unless that is its only one. */
  private readonly fairResources: ReadonlyArray<ReadonlyArray<number>>
  /** Permits granted by the current step, per resource and per group, not yet taken from the semaphores. */
  private readonly granted: Array<number>
  private readonly grantedGroup: Array<number>
  /** Per group, its release: one permit of each of its resources, with or without its group permit. */
  private readonly releases: ReadonlyArray<Effect.Effect<void>>
  private readonly releasesWithGroup: ReadonlyArray<Effect.Effect<void>>
  /** Takes the permits the step granted (end of a dispatcher step). */
  readonly takeGranted: Effect.Effect<void>

  constructor(
    resources: ReadonlyArray<{ readonly key: string; readonly limit: number }>,
    private readonly groups: ReadonlyArray<GroupInfo & { readonly key: string }>,
    private readonly policy: AdmissionPolicyName,
    /** Runs after every release's permits are back (the dispatcher's wake-up). */
    afterRelease: Effect.Effect<void> = Effect.void
  ) {
    this.gates = resources.map((r) => new Gate(r.key, r.limit))
    this.groupGates = groups.map((g) => g.admittedLimit === undefined ? undefined : new Gate(g.key, g.admittedLimit))
    this.free = resources.map((r) => r.limit)
    this.groupFree = groups.map((g) => g.admittedLimit ?? 0)
    this.overCap = groups.map(() => 0)
    this.fairResources = groups.map((g) =>
      g.resources.length > 1 ? g.resources.filter((r) => r !== SUBMISSION) : g.resources
    )
    this.debt = groups.map(() => resources.map(() => 0))
    this.granted = resources.map(() => 0)
    this.grantedGroup = groups.map(() => 0)
    const { free, grantedGroup, groupFree, granted } = this
    // One permit back to each semaphore; the view takes the free count each one reports.
    const releaseOf = (resources: ReadonlyArray<number>, group: number | undefined): Effect.Effect<void> => {
      const steps: Array<Effect.Effect<void>> = resources.map((r) =>
        Effect.map(this.gates[r]!.semaphore.release(1), (n) => void (free[r] = n))
      )
      const gate = group === undefined ? undefined : this.groupGates[group]
      if (gate !== undefined) steps.push(Effect.map(gate.semaphore.release(1), (n) => void (groupFree[group!] = n)))
      steps.push(afterRelease)
      return steps.reduce((all, step) => Effect.andThen(all, step))
    }
    this.releases = groups.map((g) => releaseOf(g.resources, undefined))
    this.releasesWithGroup = groups.map((g, i) => releaseOf(g.resources, i))
    const gates = this.gates
    const groupGates = this.groupGates
    // The step granted these permits from the free ones in the view, and nothing ran since: they are there.
    const missing = (gate: Gate, n: number) =>
      Effect.die(`task admission: ${gate.key} had no ${n} free permits for the step's leases`)
    this.takeGranted = Effect.gen(function*() {
      for (let i = 0; i < gates.length; i++) {
        const n = granted[i]!
        if (n === 0) continue
        granted[i] = 0
        if (!(yield* gates[i]!.semaphore.takeIfAvailable(n))) return yield* missing(gates[i]!, n)
      }
      for (let i = 0; i < groupGates.length; i++) {
        const n = grantedGroup[i]!
        if (n === 0) continue
        grantedGroup[i] = 0
        if (!(yield* groupGates[i]!.semaphore.takeIfAvailable(n))) return yield* missing(groupGates[i]!, n)
      }
    })
  }

  limit(resource: number): number {
    return this.gates[resource]!.limit
  }

  resize(resource: number, limit: number): Effect.Effect<void> {
    const gate = this.gates[resource]!
    return Effect.suspend(() => {
      gate.limit = Math.max(0, limit)
      return gate.semaphore.resize(gate.limit)
    }).pipe(Effect.andThen(gate.semaphore.release(0)), Effect.map((n) => void (this.free[resource] = n)))
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
    const fair = this.fairResources[group]!
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

  /**
   * Grants the lease evaluated just before, in the same step: one permit of each resource, and a group permit when
   * the group is within its admitted limit. The permits are taken from the semaphores when the step ends.
   */
  acquire(group: number): void {
    for (const r of this.pendingBorrow) this.debt[group]![r]!++
    this.pendingBorrow.length = 0
    for (const r of this.groups[group]!.resources) {
      const gate = this.gates[r]!
      const free = --this.free[r]!
      this.granted[r]!++
      if (gate.limit - free > gate.maxLeased) gate.maxLeased = gate.limit - free
    }
    const gate = this.groupGates[group]
    if (gate === undefined) return
    if (this.groupFree[group]! < 1) {
      this.overCap[group]!++
      return
    }
    const free = --this.groupFree[group]!
    this.grantedGroup[group]!++
    if (gate.limit - free > gate.maxLeased) gate.maxLeased = gate.limit - free
  }

  /**
   * Releases one lease of `group` (its bookkeeping now; its permits when the returned effect runs). Any release of
   * the group repays its debt on the resources it holds, and ends one of its leases over the admitted limit first.
   */
  release(group: number): Effect.Effect<void> {
    for (const r of this.groups[group]!.resources) if (this.debt[group]![r]! > 0) this.debt[group]![r]!--
    if (this.groupGates[group] === undefined) return this.releases[group]!
    if (this.overCap[group]! > 0) {
      this.overCap[group]!--
      return this.releases[group]!
    }
    return this.releasesWithGroup[group]!
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
