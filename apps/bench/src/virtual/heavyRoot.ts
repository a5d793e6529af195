import { customModelMetadata, localMetadata } from "@sluice/resolver"
import {
  type AdmissionPolicyName,
  makeScheduler,
  type SchedulerConfigError,
  type SchedulerRunError
} from "@sluice/scheduler"
import { Clock, Effect } from "effect"
import { percentile, runVirtual } from "./virtualTime.js"

export interface HeavyRootOptions {
  readonly policy?: AdmissionPolicyName
  /** Model-task capacity (`llm_wait`), default 8. */
  readonly capacity?: number
  readonly hotTasks?: number
  readonly hotSeconds?: number
  readonly hotWeight?: number
  readonly peerTasks?: number
  readonly peerSeconds?: number
  readonly peerWeight?: number
  readonly peerReadySeconds?: number
}

export interface HeavyRootReport {
  readonly policy: AdmissionPolicyName
  readonly wallSeconds: number
  /** (hot busy + peer busy) / capacity. */
  readonly idealSeconds: number
  readonly ratio: number
  readonly peerWaitSeconds: { readonly first: number; readonly p50: number; readonly p95: number; readonly max: number }
  readonly maxModelTasksInFlight: number
  /** Model tasks in flight per group, one point per change, on the scenario's virtual clock (for plots). */
  readonly inFlight: ReadonlyArray<
    { readonly atSeconds: number; readonly hot: number; readonly peer: number; readonly hotDone: number }
  >
  readonly rowsCompleted: number
  /**
   * What is still held once the run has returned (all zero unless something leaked): the scheduler's task leases.
   * This scenario has no request admission, so `requestLeases` and `requestWaiters` are 0 by construction; they
   * keep the shape of `Pressure725Report.leaks`.
   */
  readonly leaks: { readonly taskLeases: number; readonly requestLeases: number; readonly requestWaiters: number }
}

/**
 * `heavy-root` on virtual time: a heavy group (512 × 0.5 s, weight 4) is ready at t = 0,
 * a light peer group (256 × 0.05 s, weight 1) becomes ready at t = 0.05 s, both competing for 8 model-task slots.
 * Bounded borrow lets the heavy group use every slot while alone, then yields to the peer as its debt is repaid.
 *
 * Shape in the scheduler: `hot` is a cell column on `hotTasks` rows; `peer` is a cell column behind a local
 * `gate` full column that sleeps until the peer's ready time. Rows beyond `peerTasks` are no-ops for `peer`
 * (instant, excluded from wait statistics) so the two groups can have different task counts in one row group.
 */
export const heavyRoot = (
  options: HeavyRootOptions = {}
): Effect.Effect<HeavyRootReport, SchedulerConfigError | SchedulerRunError> => {
  const policy = options.policy ?? "bounded-borrow"
  const capacity = options.capacity ?? 8
  const hotTasks = options.hotTasks ?? 512
  const hotMs = (options.hotSeconds ?? 0.5) * 1000
  const peerTasks = options.peerTasks ?? 256
  const peerMs = (options.peerSeconds ?? 0.05) * 1000
  const readyMs = (options.peerReadySeconds ?? 0.05) * 1000
  const rows = Math.max(hotTasks, peerTasks)
  const waits: Array<number> = []
  let modelActive = 0
  let maxModelActive = 0
  const active = { hot: 0, peer: 0 }
  let hotDone = 0
  const inFlight: Array<{ atSeconds: number; hot: number; peer: number; hotDone: number }> = []
  const change = (group: "hot" | "peer", delta: number) =>
    Effect.map(Clock.currentTimeMillis, (now) => {
      active[group] += delta
      modelActive += delta
      maxModelActive = Math.max(maxModelActive, modelActive)
      if (group === "hot" && delta < 0) hotDone++
      inFlight.push({ atSeconds: now / 1000, hot: active.hot, peer: active.peer, hotDone })
    })
  const busy = (ms: number, group: "hot" | "peer") =>
    change(group, 1).pipe(Effect.andThen(Effect.sleep(ms)), Effect.ensuring(change(group, -1)))
  const job = Effect.gen(function*() {
    const scheduler = yield* makeScheduler({
      rows,
      bufferSize: rows,
      sink: { write: () => Effect.void },
      columns: [
        {
          name: "hot",
          strategy: "cell",
          scheduling: customModelMetadata("bench", "hot", "v1", options.hotWeight ?? 4),
          generate: ({ rowIndex }) =>
            rowIndex < hotTasks ? busy(hotMs, "hot").pipe(Effect.as({ hot: 1 })) : Effect.succeed({ hot: 0 })
        },
        {
          name: "gate",
          strategy: "full",
          scheduling: localMetadata({ resource: "gate" }),
          generate: ({ rows }) => Effect.sleep(readyMs).pipe(Effect.as(rows.map(() => ({ gate: 1 }))))
        },
        {
          name: "peer",
          strategy: "cell",
          requires: ["gate"],
          scheduling: customModelMetadata("bench", "peer", "v1", options.peerWeight ?? 1),
          generate: ({ rowIndex }) =>
            rowIndex >= peerTasks ? Effect.succeed({ peer: 0 }) : Clock.currentTimeMillis.pipe(
              Effect.tap((now) => Effect.sync(() => waits.push(now - readyMs))),
              Effect.andThen(busy(peerMs, "peer")),
              Effect.as({ peer: 1 })
            )
        }
      ]
    }, { admissionPolicy: policy, maxModelTaskAdmission: capacity, maxConcurrentRowGroups: 1, earlyShutdown: false })
    const result = yield* scheduler.run
    // `run` has returned, so its workers have exited: a lease still counted here was never released.
    const stats = yield* scheduler.stats
    return { result, taskLeases: stats.taskLeases }
  })
  return runVirtual(job).pipe(Effect.map(({ elapsedMs, value: { result, taskLeases } }) => {
    const idealSeconds = (hotTasks * hotMs + peerTasks * peerMs) / 1000 / capacity
    const wallSeconds = elapsedMs / 1000
    return {
      policy,
      wallSeconds,
      idealSeconds,
      ratio: wallSeconds / idealSeconds,
      peerWaitSeconds: {
        first: Math.min(...waits) / 1000,
        p50: percentile(waits, 0.5) / 1000,
        p95: percentile(waits, 0.95) / 1000,
        max: Math.max(...waits) / 1000
      },
      maxModelTasksInFlight: maxModelActive,
      inFlight,
      rowsCompleted: result.rowsCompleted,
      leaks: { taskLeases, requestLeases: 0, requestWaiters: 0 }
    }
  }))
}
