/**
 * Leases and their counts: admitting one (after its two permits were taken), closing it exactly once, and what a
 * release outcome means for the domain (AIMD, events). Synchronous steps only; returning the permits and serving
 * the queue afterwards is `Release.ts`'s.
 */
import type { RequestResourceKey } from "@sluice/scheduling-resources"
import type { Fiber } from "effect"
import type { RequestLease } from "../../RequestLease.js"
import { nowOf } from "../clock.js"
import type { ReleaseOutcome } from "../../ReleaseOutcome.js"
import { onAdmitted, onFirstWaveFull, onRelease } from "../limits/aimd.js"
import { type Charge, settleCharge } from "../limits/budget.js"
import type { Domain } from "../limits/records.js"
import type { Work } from "../limits/Work.js"
import type { Outbox } from "../outbox/Outbox.js"

const ACTIVE = 0
const RELEASED = 1

/** The concrete lease: only the controller that made it (`owner`) can release it, exactly once (`state`). */
export class LeaseImpl implements RequestLease {
  state: typeof ACTIVE | typeof RELEASED = ACTIVE
  /** What it took from its provider/model's RPM / TPM budget (`undefined`: no budget). */
  charge: Charge | undefined = undefined
  constructor(
    readonly id: number,
    readonly group: string,
    readonly admittedLimit: number,
    readonly waitedMs: number,
    readonly domain: Domain,
    readonly owner: object,
    /**
     * The release gives the two permits back. False for a lease of `withLease`'s hot path: there the semaphores
     * themselves hold the permits around `use` and return them when it ends.
     */
    readonly returnsPermits: boolean
  ) {}

  get resource(): RequestResourceKey {
    return this.domain.resource
  }

  get active(): boolean {
    return this.state === ACTIVE
  }
}

export class Leases {
  /** Identifies this controller's leases. */
  private readonly owner = {}
  private seq = 0
  active = 0
  duplicateReleases = 0
  foreignReleases = 0

  constructor(private readonly work: Work, private readonly outbox: Outbox) {}

  /** A lease of this controller (whatever its state). */
  owns(lease: RequestLease): lease is LeaseImpl {
    return lease instanceof LeaseImpl && lease.owner === this.owner
  }

  /** A new lease of this controller, not counted yet (`countIn` does, once its two permits are held). */
  make(domain: Domain, group: string, waitedMs: number, returnsPermits: boolean): LeaseImpl {
    return new LeaseImpl(
      ++this.seq,
      group,
      domain.currentLimit,
      waitedMs,
      domain,
      this.owner,
      returnsPermits
    )
  }

  /** Counts a lease in: its two permits are held. The time is read from `fiber` only if something needs it. */
  countIn(lease: LeaseImpl, fiber: Fiber.Fiber<unknown, unknown>, queued: boolean): void {
    const domain = lease.domain
    domain.inFlight++
    domain.pool.inFlight++
    this.active++
    const outbox = this.outbox
    const timed = domain.halfOpen || domain.firstWave || outbox.listening()
    if (!timed) return
    const now = nowOf(fiber)
    if (domain.halfOpen) onAdmitted(this.work, domain, lease.id, now)
    if (domain.firstWave && domain.slowStart && domain.inFlight >= domain.window) {
      onFirstWaveFull(this.work, domain, now)
    }
    if (outbox.listening()) {
      const group = lease.group
      if (queued) {
        outbox.emit(now, {
          _tag: "request_wait_completed",
          resource: domain.resource,
          group,
          leaseId: lease.id,
          waitedMs: lease.waitedMs
        })
      }
      outbox.emit(now, {
        _tag: "request_lease_acquired",
        resource: domain.resource,
        group,
        leaseId: lease.id,
        limit: domain.currentLimit,
        inFlight: domain.inFlight
      })
    }
  }

  /** Builds a lease and counts it in (its two permits are held; the release returns them). */
  admit(
    domain: Domain,
    group: string,
    fiber: Fiber.Fiber<unknown, unknown>,
    waitedMs: number,
    queued: boolean
  ): LeaseImpl {
    const lease = this.make(domain, group, waitedMs, true)
    this.countIn(lease, fiber, queued)
    return lease
  }

  /**
   * Marks an active lease released and counts it out, in plain arithmetic that cannot fail: whatever happens
   * next, its permits are owed back exactly once.
   */
  close(lease: LeaseImpl): void {
    lease.state = RELEASED
    const domain = lease.domain
    domain.inFlight--
    domain.pool.inFlight--
    this.active--
  }

  /** What the outcome of a closed lease means for its domain: AIMD, then the release event. */
  record(lease: LeaseImpl, outcome: ReleaseOutcome, clock: () => number): void {
    const domain = lease.domain
    domain.lastOutcome = outcome.kind
    // Reported usage corrects the budget; tokens given back may let waiters through.
    if (lease.charge !== undefined && settleCharge(lease.charge, outcome, clock())) this.work.budgetChanged(domain.pool)
    onRelease(this.work, domain, lease, outcome, clock)
    if (this.outbox.listening()) {
      this.outbox.emit(clock(), {
        _tag: "request_lease_released",
        resource: domain.resource,
        group: lease.group,
        leaseId: lease.id,
        outcome: outcome.kind,
        ...(outcome.kind === "provider_failure" && outcome.status !== undefined ? { status: outcome.status } : {}),
        limit: domain.currentLimit,
        inFlight: domain.inFlight
      })
    }
  }

  /** A release that changed nothing: a lease released before, or one of another controller. */
  diagnostic(lease: RequestLease, reason: "duplicate" | "foreign_lease", now: number): void {
    if (reason === "duplicate") this.duplicateReleases++
    else this.foreignReleases++
    if (this.outbox.listening()) {
      this.outbox.emit(now, { _tag: "request_release_diagnostic", resource: lease.resource, leaseId: lease.id, reason })
    }
  }
}
