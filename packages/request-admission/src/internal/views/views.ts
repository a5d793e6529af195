/**
 * Read-only views: pressure snapshots, capacity views, the leak view, and the permit view of the semaphores.
 * Reading never creates state: a never-used domain is described by `freshDomainView`.
 */
import {
  type ProviderModelKey,
  type RequestCapacityView,
  type RequestResourceKey,
  requestResourceLabel
} from "@sluice/scheduling-resources"
import { Effect } from "effect"
import type { ResolvedConfig } from "../../config.js"
import { RequestAdmissionUnknownResource } from "../../errors.js"
import type { ProviderModelPressure, RequestAdmissionInspection, RequestPressure } from "../../RequestPressure.js"
import { nowOf } from "../clock.js"
import type { Leases } from "../leases/Leases.js"
import type { Lifecycle } from "../Lifecycle.js"
import {
  admissionLimit,
  capacityView,
  type DomainView,
  freshDomainView,
  pressureView,
  providerModelView
} from "../limits/arithmetic.js"
import type { Pools } from "../limits/Pools.js"
import type { Outbox } from "../outbox/Outbox.js"
import { flowCount } from "../queue/WaiterQueue.js"

/** One semaphore: the size its limit calls for, and the permits it has free (read from the semaphore). */
export interface PermitCount {
  readonly label: string
  readonly size: number
  readonly free: number
  /** Resizes decided and not yet applied. */
  readonly resizing: number
}

/** Every semaphore of the controller: at rest (no lease, nothing pending), `free === size` for each. */
export interface PermitsView {
  readonly pools: ReadonlyArray<PermitCount>
  readonly domains: ReadonlyArray<PermitCount>
}

export const makeViews = (
  config: ResolvedConfig,
  pools: Pools,
  leases: Leases,
  outbox: Outbox,
  lifecycle: Lifecycle
) => {
  /** A resource's domain, or what it would start as; fails for an unregistered provider/model. */
  const viewOf = <A>(resource: RequestResourceKey, f: (domain: DomainView, now: number) => A) =>
    Effect.withFiber<A, RequestAdmissionUnknownResource>((fiber) => {
      const pool = pools.poolOf(resource)
      if (pool === undefined) return Effect.fail(new RequestAdmissionUnknownResource({ resource }))
      const domain = pools.findDomain(pool, resource) ??
        freshDomainView(config, pool, resource, requestResourceLabel(resource))
      return Effect.succeed(f(domain, nowOf(fiber)))
    })

  const pressure = (resource: RequestResourceKey): Effect.Effect<RequestPressure, RequestAdmissionUnknownResource> =>
    viewOf(resource, (domain, now) => pressureView(config, domain, now))

  const capacity = (
    resource: RequestResourceKey
  ): Effect.Effect<RequestCapacityView, RequestAdmissionUnknownResource> =>
    viewOf(resource, (domain, now) => capacityView(config, domain, now))

  const pressures: Effect.Effect<ReadonlyArray<RequestPressure>> = Effect.withFiber((fiber) => {
    const now = nowOf(fiber)
    const out: Array<RequestPressure> = []
    for (const pool of pools.byLabel.values()) {
      for (const domain of pool.domains) out.push(pressureView(config, domain, now))
    }
    return Effect.succeed(out)
  })

  const providerModelPressure = (
    key: ProviderModelKey
  ): Effect.Effect<ProviderModelPressure, RequestAdmissionUnknownResource> =>
    Effect.withFiber((fiber) => {
      const pool = pools.poolOf(key)
      if (pool === undefined) {
        return Effect.fail(
          new RequestAdmissionUnknownResource({
            resource: { provider: key.provider, model: key.model, domain: "chat" }
          })
        )
      }
      return Effect.succeed(providerModelView(config, pool, nowOf(fiber)))
    })

  const inspect: Effect.Effect<RequestAdmissionInspection> = Effect.sync(() => {
    let waiters = 0
    for (const pool of pools.byLabel.values()) waiters += pool.queue.queued
    return {
      activeLeases: leases.active,
      waiters,
      duplicateReleases: leases.duplicateReleases,
      foreignReleases: leases.foreignReleases,
      droppedEvents: outbox.droppedEvents,
      shutdown: lifecycle.shutdown
    }
  })

  /** Fair-queue flows still held (active + idle), for tests that state shrinks as waiters leave. */
  const queueStateSize: Effect.Effect<number> = Effect.sync(() => {
    let n = 0
    for (const pool of pools.byLabel.values()) {
      n += flowCount(pool.domains.map((domain) => domain.queue)) + pool.queue.idle.size
    }
    return n
  })

  const permits: Effect.Effect<PermitsView> = Effect.suspend(() => {
    const poolList = [...pools.byLabel.values()]
    const domainList = poolList.flatMap((pool) => pool.domains)
    return Effect.all({
      pools: Effect.forEach(poolList, (pool) =>
        Effect.map(pool.permits.free, (free) => ({
          label: pool.label,
          size: pool.staticCap,
          free,
          resizing: pool.permits.resizing
        }))),
      domains: Effect.forEach(domainList, (domain) =>
        Effect.map(domain.permits.free, (free) => ({
          label: domain.label,
          size: admissionLimit(domain),
          free,
          resizing: domain.permits.resizing
        })))
    })
  })

  return { pressure, pressures, providerModelPressure, capacity, inspect, queueStateSize, permits }
}
