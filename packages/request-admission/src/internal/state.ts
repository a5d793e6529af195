/**
 * The controller's synchronous state: provider/model pools, per-domain AIMD records, and the
 * weighted-fair waiter queue. Plain data and O(log n) helpers, mutated only inside single
 * synchronous steps of the controller (one `Effect.withFiber` body), so no step ever observes
 * another half-done.
 */
import type { ProviderModelKey, RequestResourceKey } from "@sluice/scheduling-resources"
import { type Effect, Exit } from "effect"
import type { Shutdown } from "../errors.js"
import type { RequestAdmissionItem, RequestLease } from "../RequestLease.js"
import type { ReleaseOutcomeKind } from "../ReleaseOutcome.js"
import { FlowHeap, type HeapEntry } from "./FlowHeap.js"
import type { Permits } from "./permits.js"

export interface Pool {
  readonly key: ProviderModelKey
  readonly label: string
  readonly capsByAlias: Map<string, number>
  staticCap: number
  /** Sized to `staticCap`; every lease of any domain holds one permit. */
  readonly permits: Permits
  inFlight: number
  queued: number
  readonly domains: Array<Domain>
  /** Start-time fair queueing clock shared by every flow of the pool (they share the static cap). */
  virtualTime: number
  flowSeq: number
  /** Empty flows that still owe service time (tag > virtualTime); dropped once the clock passes them. */
  readonly idle: FlowHeap<Flow>
}

export interface Domain {
  readonly resource: RequestResourceKey
  readonly label: string
  readonly pool: Pool
  /** Sized to the admission limit (`resize`d by AIMD, slow start, the ramp and cap changes). */
  readonly permits: Permits
  currentLimit: number
  inFlight: number
  waiters: number
  /** Clock ms until which the domain is closed after a 429 (0 = never blocked). */
  blockedUntil: number
  /** A cooldown is active and its end has not been announced yet. */
  cooling: boolean
  successStreak: number
  rateLimitCeiling: number
  consecutiveRateLimits: number
  lastOutcome: ReleaseOutcomeKind | null
  /** A decrease happened and the limit is not yet back at the effective max. */
  recovering: boolean
  softCeilingPending: boolean
  rampActive: boolean
  readonly rampStartedAt: number
  /**
   * Half-open cooldown: a success arrived during the cooldown and no probe is in flight, so exactly
   * one admission may happen (it becomes the probe).
   */
  halfOpen: boolean
  /** Lease id of the half-open probe in flight (0 = none). */
  probeLeaseId: number
  /** Consecutive failed probes at the rate-limit ceiling (k: an increase to it needs 2^k × the successes). */
  probeFailures: number
  /** Slow start: admissions are bounded by `window` until it reaches the limit or a 429 arrives. */
  slowStart: boolean
  window: number
  /**
   * The window is a fresh resource's first wave: the first success opens it to the limit. A window set by a
   * cap raise grows by one per success instead.
   */
  firstWave: boolean
  /** Clock ms at which a full first wave opens if no 429 came back (Infinity: not full yet, or no probe). */
  firstWaveOpensAt: number
  timerRunning: boolean
  /** Identifies the current timer fiber (an older one that wakes up stops); its wake-up time. */
  timerEpoch: number
  timerWakeAt: number
  /** Flows with waiters, by (virtual start tag, activation order). */
  readonly heap: FlowHeap<Flow>
  /** Active and idle flows by group key. */
  readonly flows: Map<string, Flow>
}

export interface Flow extends HeapEntry {
  readonly group: string
  weight: number
  readonly domain: Domain
  head: Waiter | undefined
  tail: Waiter | undefined
  size: number
  active: boolean
}

export const QUEUED = 0
export const GRANTED = 1
export const GONE = 2

export interface Waiter {
  readonly item: RequestAdmissionItem
  readonly flow: Flow
  prev: Waiter | undefined
  next: Waiter | undefined
  state: typeof QUEUED | typeof GRANTED | typeof GONE
  readonly enqueuedAt: number
  lease: RequestLease | undefined
  /** The parked fiber's resume (set once it has parked; see `awaitWaiter` in `handoff.ts`). */
  resume: ((exit: Effect.Effect<RequestLease, Shutdown>) => void) | undefined
  /** How the wait ends, once delivered from the outbox (after the step that decided it). */
  exit: Exit.Exit<RequestLease, Shutdown> | undefined
}

/** Ends a wait: wakes the parked fiber, or leaves the exit for it to find when it parks. Outbox flushes only. */
export const deliver = (waiter: Waiter, exit: Exit.Exit<RequestLease, Shutdown>): void => {
  if (waiter.exit !== undefined) return
  waiter.exit = exit
  const resume = waiter.resume
  if (resume !== undefined) {
    waiter.resume = undefined
    resume(exit)
  }
}

/** Delivers the lease of a granted waiter (the outbox's entry for a hand-off). */
export const deliverGrant = (waiter: Waiter): void => deliver(waiter, Exit.succeed(waiter.lease!))

/**
 * Takes one permit of the domain and one of its pool, or neither: 0 = taken, 1 = the adaptive limit
 * is full, 2 = the static cap is full.
 */
export const takeBoth = (domain: Domain): 0 | 1 | 2 => {
  if (!domain.permits.take()) return 1
  if (domain.pool.permits.take()) return 0
  domain.permits.release()
  return 2
}

/** Returns the two permits of one lease. */
export const releaseBoth = (domain: Domain): void => {
  domain.permits.release()
  domain.pool.permits.release()
}

const flowOf = (domain: Domain, group: string, weight: number): Flow => {
  const existing = domain.flows.get(group)
  if (existing !== undefined) {
    existing.weight = weight
    return existing
  }
  const flow: Flow = {
    group,
    weight,
    domain,
    head: undefined,
    tail: undefined,
    size: 0,
    active: false,
    tag: domain.pool.virtualTime,
    seq: 0,
    heapIndex: -1
  }
  domain.flows.set(group, flow)
  return flow
}

/** Appends a waiter to its group's FIFO, activating the group (start tag = max(own finish, clock)). */
export const enqueue = (
  domain: Domain,
  group: string,
  weight: number,
  item: RequestAdmissionItem,
  enqueuedAt: number
): Waiter => {
  const pool = domain.pool
  const flow = flowOf(domain, group, weight)
  if (!flow.active) {
    if (flow.heapIndex >= 0) pool.idle.remove(flow)
    if (flow.tag < pool.virtualTime) flow.tag = pool.virtualTime
    flow.seq = ++pool.flowSeq
    flow.active = true
    domain.heap.push(flow)
  }
  const node: Waiter = {
    item,
    flow,
    prev: flow.tail,
    next: undefined,
    state: QUEUED,
    enqueuedAt,
    lease: undefined,
    resume: undefined,
    exit: undefined
  }
  if (flow.tail === undefined) flow.head = node
  else flow.tail.next = node
  flow.tail = node
  flow.size++
  domain.waiters++
  pool.queued++
  return node
}

const unlink = (waiter: Waiter): void => {
  const flow = waiter.flow
  if (waiter.prev === undefined) flow.head = waiter.next
  else waiter.prev.next = waiter.next
  if (waiter.next === undefined) flow.tail = waiter.prev
  else waiter.next.prev = waiter.prev
  waiter.prev = undefined
  waiter.next = undefined
  flow.size--
  flow.domain.waiters--
  flow.domain.pool.queued--
}

const deactivate = (flow: Flow): void => {
  const domain = flow.domain
  const pool = domain.pool
  domain.heap.remove(flow)
  flow.active = false
  // A flow that was served ahead of the clock keeps its debt while it is idle; otherwise forget it.
  if (flow.tag > pool.virtualTime) pool.idle.push(flow)
  else domain.flows.delete(flow.group)
}

const forgetIdle = (pool: Pool): void => {
  if (pool.queued === 0) {
    // Nobody waits: fairness history no longer matters, so all of it goes.
    let flow = pool.idle.peek()
    while (flow !== undefined) {
      pool.idle.remove(flow)
      flow.domain.flows.delete(flow.group)
      flow = pool.idle.peek()
    }
    return
  }
  let flow = pool.idle.peek()
  while (flow !== undefined && flow.tag <= pool.virtualTime) {
    pool.idle.remove(flow)
    flow.domain.flows.delete(flow.group)
    flow = pool.idle.peek()
  }
}

/** Takes the head waiter of the domain's best flow and advances the fair-queue clock. */
export const serveHead = (domain: Domain): Waiter | undefined => {
  const flow = domain.heap.peek()
  if (flow === undefined) return undefined
  const waiter = flow.head!
  unlink(waiter)
  const pool = domain.pool
  if (flow.tag > pool.virtualTime) pool.virtualTime = flow.tag
  flow.tag = pool.virtualTime + 1 / flow.weight
  if (flow.size > 0) {
    flow.seq = ++pool.flowSeq
    domain.heap.update(flow)
  } else {
    deactivate(flow)
  }
  forgetIdle(pool)
  return waiter
}

/** Removes a queued waiter (timeout, interruption, shutdown) in O(log n). */
export const removeWaiter = (waiter: Waiter): void => {
  const flow = waiter.flow
  unlink(waiter)
  if (flow.size === 0) deactivate(flow)
  forgetIdle(flow.domain.pool)
}

/** Flow count of a pool (active + idle), for tests of bounded state. */
export const flowCount = (pool: Pool): number => {
  let n = 0
  for (const domain of pool.domains) n += domain.flows.size
  return n
}
