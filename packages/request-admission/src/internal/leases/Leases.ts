/**
 * Leases and their counts: admitting one (after its two permits were taken), closing it exactly once, and what a
 * release outcome means for the domain (AIMD, events). Synchronous steps only; returning the permits and serving
 * the queue afterwards is `Release.ts`'s.
 */
import type { RequestResourceKey } from "@sluice/scheduling-resources"
import type { RequestAdmissionItem, RequestLease } from "../../RequestLease.js"
import type { ReleaseOutcome } from "../../ReleaseOutcome.js"
import { onAdmitted, onFirstWaveFull, onRelease } from "../limits/aimd.js"
import type { Domain } from "../limits/records.js"
import type { Work } from "../limits/Work.js"
import type { Outbox } from "../outbox/Outbox.js"

const ACTIVE = 0
const RELEASED = 1

/** The concrete lease: only the controller that made it (`owner`) can release it, exactly once (`state`). */
export class LeaseImpl implements RequestLease {
  state: typeof ACTIVE | typeof RELEASED = ACTIVE
  constructor(
    readonly id: number,
    readonly resource: RequestResourceKey,
    readonly group: string,
    readonly admittedLimit: number,
    readonly waitedMs: number,
    readonly domain: Domain,
    readonly owner: object
  ) {}

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

  /** Counts a lease in and builds it: its two permits are already taken. */
  admit(
    domain: Domain,
    item: RequestAdmissionItem,
    group: string,
    now: number,
    waitedMs: number,
    queued: boolean
  ): LeaseImpl {
    domain.inFlight++
    domain.pool.inFlight++
    this.active++
    const lease = new LeaseImpl(++this.seq, item.resource, group, domain.currentLimit, waitedMs, domain, this.owner)
    if (domain.halfOpen) onAdmitted(this.work, domain, lease.id, now)
    if (domain.firstWave && domain.slowStart && domain.inFlight >= domain.window) {
      onFirstWaveFull(this.work, domain, now)
    }
    const outbox = this.outbox
    if (outbox.listening()) {
      if (queued) {
        outbox.emit(now, {
          _tag: "request_wait_completed",
          resource: domain.resource,
          group,
          leaseId: lease.id,
          waitedMs
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
  record(lease: LeaseImpl, outcome: ReleaseOutcome, now: number): void {
    const domain = lease.domain
    domain.lastOutcome = outcome.kind
    onRelease(this.work, domain, lease, outcome, now)
    if (this.outbox.listening()) {
      this.outbox.emit(now, {
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
