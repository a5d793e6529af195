import { type RequestCapacityView, type RequestResourceKey, requestResourceLabel } from "@sluice/scheduling-resources"
import { Effect } from "effect"
import type { RuntimeRequestLimit } from "../Spec.js"
import type { Endpoint } from "./resourceTable.js"
import { atomically, type RunState } from "./runState.js"
import type { Task } from "./task.js"

interface DomainState {
  readonly key: RequestResourceKey
  /** Index of its `request:{p}/{m}/{domain}` gate. */
  readonly resource: number
  readonly endpoint: EndpointState
  view: RequestCapacityView | undefined
  minObserved: number
  /** Tasks waiting out a rate limit here: they retry as soon as the domain reopens, not at Retry-After. */
  readonly waitingForReopen: Set<Task>
}

interface EndpointState extends Endpoint {
  readonly states: Array<DomainState>
  minObserved: number
}

/**
 * The request layer's live capacity, followed by the task stage. Request admission adapts a limit and cools down
 * per provider/model/domain, so each domain has its own gate, sized to that domain's current limit and closed (0)
 * while it cools down; the provider/model's static cap stays the aggregate above them. A cooling chat domain thus
 * stalls only chat tasks: embeddings on the same model keep going, and no task is admitted beyond what can start a
 * request.
 */
export class LiveCapacity<R> {
  /** The request resources whose capacity the scheduler follows. */
  readonly resources: ReadonlyArray<RequestResourceKey>
  maxRequestWaiters = 0
  private readonly endpoints: ReadonlyArray<EndpointState>
  private readonly byLabel = new Map<string, DomainState>()
  /** Per column, its domain (model columns only). */
  private readonly domainOfColumn: ReadonlyArray<DomainState | undefined>

  constructor(private readonly state: RunState<R>) {
    this.endpoints = state.table.endpoints.map((endpoint) => {
      const e: EndpointState = { ...endpoint, states: [], minObserved: endpoint.staticLimit }
      for (const domain of endpoint.domains) {
        const d: DomainState = {
          key: domain.key,
          resource: domain.resource,
          endpoint: e,
          view: undefined,
          minObserved: endpoint.staticLimit,
          waitingForReopen: new Set()
        }
        e.states.push(d)
        this.byLabel.set(requestResourceLabel(domain.key), d)
      }
      return e
    })
    this.resources = this.endpoints.flatMap((e) => e.states.map((d) => d.key))
    this.domainOfColumn = state.table.columns.map((c) =>
      c.requestResource === undefined ? undefined : this.byLabel.get(requestResourceLabel(c.requestResource))
    )
  }

  /**
   * The request layer reported a resource's capacity: its domain gate follows at once (like `Semaphore.resize`:
   * holders keep their permits, nobody new is admitted until fewer are held than the new limit). When the domain
   * reopens (its cooldown ended, possibly early because a probe succeeded), the tasks that were waiting out its rate
   * limit become due now: their Retry-After was about that cooldown.
   */
  apply(view: RequestCapacityView, wake: boolean): Effect.Effect<void> {
    return Effect.suspend(() => {
      if (view.waiters > this.maxRequestWaiters) this.maxRequestWaiters = view.waiters
      const domain = this.byLabel.get(requestResourceLabel(view.resource))
      if (domain === undefined) return Effect.void
      const wasOpen = domain.view?.open ?? true
      domain.view = view
      const endpoint = domain.endpoint
      domain.minObserved = Math.min(domain.minObserved, view.limit)
      endpoint.minObserved = Math.min(endpoint.minObserved, this.currentLimit(endpoint))
      if (view.open && !wasOpen && domain.waitingForReopen.size > 0) {
        const now = this.state.now()
        for (const task of domain.waitingForReopen) this.state.retries.expedite(task, now)
        domain.waitingForReopen.clear()
      }
      const limit = view.open ? Math.min(view.limit, endpoint.staticLimit) : 0
      const resize = limit === this.state.ledger.limit(domain.resource)
        ? Effect.void
        : this.state.ledger.resize(domain.resource, limit)
      return wake ? Effect.andThen(resize, Effect.sync(() => this.state.wake())) : resize
    })
  }

  /** `apply` from another fiber than the dispatcher's: the view and the gate's new size change as one step. */
  applyAtomically(view: RequestCapacityView): Effect.Effect<void> {
    return atomically(this.apply(view, true))
  }

  /** Milliseconds until the task's request domain ends its cooldown (0 when it is open or unknown). */
  cooldownRemaining(task: Task, now: number): number {
    const view = this.domainOfColumn[task.generator]?.view
    if (view === undefined || view.open || view.blockedUntilMillis === null) return 0
    return Math.max(0, view.blockedUntilMillis - now)
  }

  /** A rate-limited task retries as soon as its domain reopens. */
  waitForReopen(task: Task): void {
    this.domainOfColumn[task.generator]?.waitingForReopen.add(task)
  }

  forgetWaiting(task: Task): void {
    this.domainOfColumn[task.generator]?.waitingForReopen.delete(task)
  }

  /** Some request domain is cooling down: queued work is waiting for it, not deadlocked. */
  anyClosed(): boolean {
    for (const endpoint of this.endpoints) {
      for (const domain of endpoint.states) if (domain.view !== undefined && !domain.view.open) return true
    }
    return false
  }

  /** Per provider/model: static limit, current limit (its domains' limits, capped by the static one), open. */
  runtimeLimits(): ReadonlyArray<RuntimeRequestLimit> {
    return this.endpoints.map((e) => ({
      resource: this.state.table.keys[e.aggregate]!,
      staticLimit: e.staticLimit,
      currentLimit: this.currentLimit(e),
      minObservedLimit: e.minObserved,
      open: e.states.every((d) => d.view?.open ?? true)
    }))
  }

  /** Per provider/model/domain: the last limit the request layer reported, and the lowest. */
  domainLimits(): ReadonlyArray<
    { readonly resource: string; readonly limit: number; readonly minObserved: number; readonly open: boolean }
  > {
    return this.endpoints.flatMap((e) =>
      e.states.map((d) => ({
        resource: this.state.table.keys[d.resource]!,
        limit: d.view?.limit ?? e.staticLimit,
        minObserved: d.minObserved,
        open: d.view?.open ?? true
      }))
    )
  }

  private currentLimit(endpoint: EndpointState): number {
    let sum = 0
    for (const d of endpoint.states) sum += d.view?.limit ?? endpoint.staticLimit
    return Math.min(endpoint.staticLimit, sum)
  }
}
