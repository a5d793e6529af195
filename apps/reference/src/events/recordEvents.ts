import type { RequestAdmission } from "@sluice/request-admission"
import type { Scheduler, SchedulerEvent } from "@sluice/scheduler"
import { Clock, Effect, type Scope, Schedule, Stream } from "effect"
import type { ProviderHealthSnapshot } from "../pipeline/providerHealth.js"
import type { EventLog } from "./EventLog.js"

export interface EventSources {
  readonly scheduler: Pick<Scheduler<unknown>, "events" | "stats">
  readonly admission: Pick<RequestAdmission["Service"], "events" | "pressures">
  readonly providerHealth: Effect.Effect<ReadonlyArray<ProviderHealthSnapshot>>
  /** Status counts per provider so far (the gateway tallies them from its attempts). */
  readonly statusCounts: () => Readonly<Record<string, Readonly<Record<string, number>>>>
  readonly snapshotEveryMillis?: number
  /** Rewrites each scheduler event before it is recorded (the run's rows as dataset rows: `rowPlan.ts`). */
  readonly schedulerEvent?: (event: SchedulerEvent) => Record<string, unknown>
}

const healthState = (snapshot: ProviderHealthSnapshot): string =>
  snapshot.down !== undefined ? `down:${snapshot.down.reason}` : "up"

/**
 * Feeds `log` for the run: every scheduler and request event as it happens; every `snapshotEveryMillis` (default
 * 1000) a capacity snapshot (request pressure per resource, the scheduler's counts) and a provider event for each
 * provider seen for the first time or whose health changed (with its status counts); flushes to the file
 * alongside. Returns the final flush, which also writes a last snapshot.
 */
export const recordEvents = Effect.fnUntraced(function*(log: EventLog, sources: EventSources) {
  // Added before the consumers are forked, so it runs after they stop: the events they took last are written too.
  yield* Effect.addFinalizer(() => Effect.ignore(log.flush))
  const schedulerEvent = sources.schedulerEvent
  yield* sources.scheduler.events.pipe(
    Stream.runForEach((event) =>
      Effect.sync(() => log.record((schedulerEvent === undefined ? event : schedulerEvent(event)) as never))
    ),
    Effect.forkScoped({ startImmediately: true })
  )
  yield* sources.admission.events.pipe(
    Stream.runForEach((event) => Effect.sync(() => log.record(event as never))),
    Effect.forkScoped({ startImmediately: true })
  )
  const seen = new Map<string, string>()
  const snapshot = Effect.gen(function*() {
    const at = yield* Clock.currentTimeMillis
    const stats = yield* sources.scheduler.stats
    const pressures = yield* sources.admission.pressures
    log.record({ _tag: "capacity_snapshot", at, scheduler: stats, requests: pressures })
    const counts = sources.statusCounts()
    for (const health of yield* sources.providerHealth) {
      const state = healthState(health)
      const previous = seen.get(health.provider)
      if (previous === state) continue
      seen.set(health.provider, state)
      log.record({
        _tag: previous === undefined
          ? "provider_first_seen"
          : state === "up"
          ? "provider_recovered"
          : "provider_degraded",
        at,
        provider: health.provider,
        state,
        ...(health.down === undefined ? {} : { reason: health.down.reason, message: health.down.message }),
        statusCounts: counts[health.provider] ?? {}
      })
    }
    yield* log.flush
  })
  yield* snapshot.pipe(
    Effect.repeat(Schedule.spaced(sources.snapshotEveryMillis ?? 1000)),
    Effect.ignore,
    Effect.forkScoped
  )
  return snapshot
}) satisfies (...args: never) => Effect.Effect<unknown, unknown, Scope.Scope>
