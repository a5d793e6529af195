/**
 * The weighted-fair waiter queue of one provider/model: start-time fair queueing across groups (a group of
 * weight 3 is served three times as often as one of weight 1), FIFO inside a group, every operation O(log n).
 * All domains of a provider/model share one virtual clock, because they share its static cap.
 *
 * Plain data and synchronous helpers; the waiter's lifecycle (parking, hand-off, timeout, interruption) is
 * `handoff/`'s.
 */
import { type Effect, Exit } from "effect"
import type { RequestAdmissionShutdown } from "../../errors.js"
import type { RequestAdmissionItem, RequestLease } from "../../RequestLease.js"
import type { Domain } from "../limits/records.js"
import { FlowHeap, type HeapEntry } from "./FlowHeap.js"

/** Queue state shared by the flows of every domain of a provider/model. */
export class PoolQueue {
  /** Start-time fair queueing clock. */
  virtualTime = 0
  flowSeq = 0
  /** Waiters queued in every domain of the pool. */
  queued = 0
  /** Empty flows that still owe service time (tag > virtualTime); dropped once the clock passes them. */
  readonly idle = new FlowHeap<Flow>()
}

/** Queue state of one domain. */
export class DomainQueue {
  waiters = 0
  /** Flows with waiters, by (virtual start tag, activation order). */
  readonly heap = new FlowHeap<Flow>()
  /** Active and idle flows by group key. */
  readonly flows = new Map<string, Flow>()
  constructor(readonly pool: PoolQueue) {}
}

export interface Flow extends HeapEntry {
  readonly group: string
  weight: number
  readonly queue: DomainQueue
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
  readonly domain: Domain
  readonly flow: Flow
  prev: Waiter | undefined
  next: Waiter | undefined
  /** QUEUED → GRANTED (a lease was admitted for it) or GONE (timed out, interrupted, shut down). */
  state: typeof QUEUED | typeof GRANTED | typeof GONE
  readonly enqueuedAt: number
  lease: RequestLease | undefined
  /** The parked fiber's resume, once it has parked. */
  resume: ((exit: Effect.Effect<RequestLease, RequestAdmissionShutdown>) => void) | undefined
  /** How the wait ends, once delivered (after the step that decided it). */
  exit: Exit.Exit<RequestLease, RequestAdmissionShutdown> | undefined
}

/** Ends a wait: wakes the parked fiber, or leaves the exit for it to find when it parks. Outbox deliveries only. */
export const deliver = (waiter: Waiter, exit: Exit.Exit<RequestLease, RequestAdmissionShutdown>): void => {
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

const flowOf = (queue: DomainQueue, group: string, weight: number): Flow => {
  const existing = queue.flows.get(group)
  if (existing !== undefined) {
    existing.weight = weight
    return existing
  }
  const flow: Flow = {
    group,
    weight,
    queue,
    head: undefined,
    tail: undefined,
    size: 0,
    active: false,
    tag: queue.pool.virtualTime,
    seq: 0,
    heapIndex: -1
  }
  queue.flows.set(group, flow)
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
  const queue = domain.queue
  const pool = queue.pool
  const flow = flowOf(queue, group, weight)
  if (!flow.active) {
    if (flow.heapIndex >= 0) pool.idle.remove(flow)
    if (flow.tag < pool.virtualTime) flow.tag = pool.virtualTime
    flow.seq = ++pool.flowSeq
    flow.active = true
    queue.heap.push(flow)
  }
  const waiter: Waiter = {
    item,
    domain,
    flow,
    prev: flow.tail,
    next: undefined,
    state: QUEUED,
    enqueuedAt,
    lease: undefined,
    resume: undefined,
    exit: undefined
  }
  if (flow.tail === undefined) flow.head = waiter
  else flow.tail.next = waiter
  flow.tail = waiter
  flow.size++
  queue.waiters++
  pool.queued++
  return waiter
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
  flow.queue.waiters--
  flow.queue.pool.queued--
}

const deactivate = (flow: Flow): void => {
  const queue = flow.queue
  const pool = queue.pool
  queue.heap.remove(flow)
  flow.active = false
  // A flow that was served ahead of the clock keeps its debt while it is idle; otherwise forget it.
  if (flow.tag > pool.virtualTime) pool.idle.push(flow)
  else queue.flows.delete(flow.group)
}

const forgetIdle = (pool: PoolQueue): void => {
  // Nobody waits: fairness history no longer matters, so all of it goes.
  const horizon = pool.queued === 0 ? Infinity : pool.virtualTime
  let flow = pool.idle.peek()
  while (flow !== undefined && flow.tag <= horizon) {
    pool.idle.remove(flow)
    flow.queue.flows.delete(flow.group)
    flow = pool.idle.peek()
  }
}

/** The waiter a domain would serve next, without serving it. */
export const headOf = (queue: DomainQueue): Waiter | undefined => queue.heap.peek()?.head

/** Orders two domains' next waiters: negative when `a`'s is served first. */
export const compareHeads = (a: DomainQueue, b: DomainQueue): number => {
  const x = a.heap.peek()!
  const y = b.heap.peek()!
  return x.tag - y.tag || x.seq - y.seq
}

/** Takes the head waiter of the domain's best flow and advances the fair-queue clock. */
export const serveHead = (queue: DomainQueue): Waiter | undefined => {
  const flow = queue.heap.peek()
  if (flow === undefined) return undefined
  const waiter = flow.head!
  unlink(waiter)
  const pool = queue.pool
  if (flow.tag > pool.virtualTime) pool.virtualTime = flow.tag
  flow.tag = pool.virtualTime + 1 / flow.weight
  if (flow.size > 0) {
    flow.seq = ++pool.flowSeq
    queue.heap.update(flow)
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
  forgetIdle(flow.queue.pool)
}

/** Flows held in memory (active and idle) across the given domain queues. */
export const flowCount = (queues: Iterable<DomainQueue>): number => {
  let n = 0
  for (const queue of queues) n += queue.flows.size
  return n
}
