/**
 * Read-only views: pressure snapshots, capacity views, and the leak view. Reading never creates state:
 * a never-used domain is described by `freshDomainView`.
 */
import {
  type ProviderModelKey,
  type RequestCapacityView,
  type RequestResourceKey,
  requestResourceLabel
} from "@sluice/scheduling-resources"
import { Effect } from "effect"
import { UnknownResource } from "../errors.js"
import type { ProviderModelPressure, RequestAdmissionInspection, RequestPressure } from "../RequestPressure.js"
import type { Core } from "./core.js"
import { capacityView, type DomainView, freshDomainView, pressureView, providerModelView } from "./limits.js"
import { findDomain } from "./registry.js"
import { flowCount } from "./state.js"
import { nowOf } from "./timers.js"

export const makeViews = (core: Core) => {
  const config = core.config

  /** A resource's domain, or what it would start as; fails for an unregistered provider/model. */
  const viewOf = <A>(resource: RequestResourceKey, f: (domain: DomainView, now: number) => A) =>
    Effect.withFiber<A, UnknownResource>((fiber) => {
      const pool = core.poolOf(resource)
      if (pool === undefined) return Effect.fail(new UnknownResource({ resource }))
      const domain = findDomain(pool, resource) ??
        freshDomainView(config, pool, resource, requestResourceLabel(resource))
      return Effect.succeed(f(domain, nowOf(fiber)))
    })

  const pressure = (resource: RequestResourceKey): Effect.Effect<RequestPressure, UnknownResource> =>
    viewOf(resource, (domain, now) => pressureView(config, domain, now))

  const capacity = (resource: RequestResourceKey): Effect.Effect<RequestCapacityView, UnknownResource> =>
    viewOf(resource, (domain, now) => capacityView(config, domain, now))

  const pressures: Effect.Effect<ReadonlyArray<RequestPressure>> = Effect.withFiber((fiber) => {
    const now = nowOf(fiber)
    const out: Array<RequestPressure> = []
    for (const pool of core.pools.values()) {
      for (const domain of pool.domains) out.push(pressureView(config, domain, now))
    }
    return Effect.succeed(out)
  })

  const providerModelPressure = (key: ProviderModelKey): Effect.Effect<ProviderModelPressure, UnknownResource> =>
    Effect.withFiber((fiber) => {
      const pool = core.poolOf(key)
      if (pool === undefined) {
        return Effect.fail(
          new UnknownResource({ resource: { provider: key.provider, model: key.model, domain: "chat" } })
        )
      }
      return Effect.succeed(providerModelView(config, pool, nowOf(fiber)))
    })

  const inspect: Effect.Effect<RequestAdmissionInspection> = Effect.sync(() => ({
    activeLeases: core.activeLeases,
    waiters: core.waiters,
    duplicateReleases: core.duplicateReleases,
    foreignReleases: core.foreignReleases,
    droppedEvents: core.outbox.droppedEvents,
    shutdown: core.shutdown
  }))

  /** Fair-queue flows still held (active + idle), for tests that state shrinks as waiters leave. */
  const queueStateSize: Effect.Effect<number> = Effect.sync(() => {
    let n = 0
    for (const pool of core.pools.values()) n += flowCount(pool) + pool.idle.size
    return n
  })

  return { pressure, pressures, providerModelPressure, capacity, inspect, queueStateSize }
}
