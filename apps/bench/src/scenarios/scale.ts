import { monitorEventLoopDelay } from "node:perf_hooks"
import { modelMetadata } from "@sluice/resolver"
import { makeScheduler } from "@sluice/scheduler"
import { Clock, Config, Duration, Effect, Fiber, Option, Schedule } from "effect"
import { benchResult, type TimelinePoint } from "../BenchResult.js"
import { resultTable } from "../markdown.js"
import { BenchError } from "../mockHost.js"
import type { Scenario, ScenarioContext } from "../Scenario.js"

/**
 * `scale`: 1,000,000 rows × 8 independent model columns on one endpoint of
 * capacity 512, latency 20 ms on the Clock, on an in-process fake model generator (no HTTP: this measures the
 * scheduler, not the socket layer). Time-boxed; reports achieved calls/s ÷ 25,600 (= 512 ÷ 0.02 s), CPU per
 * task, event-loop delay, peak RSS, and a memory curve (RSS and V8 heap every 5 s): peak RSS minus RSS at start is
 * mostly V8 growing its heap to its steady size under garbage churn in the first seconds, not retained state.
 */
const capacity = 512
const latencyMs = 20
const idealCallsPerSecond = capacity / (latencyMs / 1000)

export interface ScaleOptions {
  readonly rows: number
  readonly columns: number
  readonly budgetSeconds: number
  /** Seconds between two memory samples kept in the result (RSS and V8 heap over the box). */
  readonly memorySampleSeconds?: number
}

/** One memory sample. `heapUsedMiB` is live heap plus garbage not yet collected unless node runs with `--expose-gc`. */
export interface MemorySample {
  readonly atSeconds: number
  readonly rssMiB: number
  readonly heapUsedMiB: number
  readonly heapTotalMiB: number
}

const mib = (bytes: number): number => Math.round((bytes / 1024 / 1024) * 10) / 10

/**
 * `SLUICE_SCALE_SECONDS` overrides the time box (e.g. 120 for a memory-flatness run). With `node --expose-gc` a
 * full GC runs before each kept memory sample, so `heapUsedMiB` is what the run retains, not garbage.
 */
const budgetOverride = Config.Int("SLUICE_SCALE_SECONDS").pipe(
  Config.option,
  Effect.mapError((cause) => new BenchError({ message: `scale: ${cause.message}`, cause }))
)

const collectGarbage = (): void => {
  const gc = (globalThis as { gc?: () => void }).gc
  if (typeof gc === "function") gc()
}

export const runScale = (options: ScaleOptions) =>
  Effect.gen(function*() {
    let calls = 0
    let active = 0
    let busyMs = 0
    let rowsCheckpointed = 0
    let rowsDropped = 0
    collectGarbage()
    const memoryAtStart = process.memoryUsage()
    let peakRss = memoryAtStart.rss
    let peakHeapUsed = memoryAtStart.heapUsed
    const rssAtStart = peakRss
    const timeline: Array<TimelinePoint> = []
    const memory: Array<MemorySample> = []
    const memoryEveryMs = (options.memorySampleSeconds ?? 5) * 1000
    let nextMemorySampleAt = 0
    const columns = Array.from({ length: options.columns }, (_, k) => ({
      name: `c${k}`,
      strategy: "cell" as const,
      scheduling: modelMetadata("fake", "model", "chat", capacity),
      // The provider's busy time is what the timer really slept (Node timers overshoot 20 ms by ~1–2 ms).
      generate: () =>
        Clock.currentTimeMillis.pipe(
          Effect.tap(() => Effect.sync(() => void active++)),
          Effect.tap(() => Effect.sleep(Duration.millis(latencyMs))),
          Effect.flatMap((t0) =>
            Effect.map(Clock.currentTimeMillis, (t1) => {
              active--
              calls++
              busyMs += t1 - t0
              return { [`c${k}`]: 1 }
            })
          )
        )
    }))
    const lag = monitorEventLoopDelay({ resolution: 10 })
    lag.enable()
    const cpuStart = process.cpuUsage()
    const started = yield* Clock.currentTimeMillis
    const scheduler = yield* makeScheduler({
      rows: options.rows,
      bufferSize: 1000,
      columns,
      sink: {
        write: (checkpoint) =>
          Effect.sync(() => {
            rowsCheckpointed += checkpoint.rows.length
            rowsDropped += checkpoint.size - checkpoint.rows.length
          })
      }
    }, { maxConcurrentRowGroups: 3, earlyShutdown: false }).pipe(
      Effect.mapError((cause) => new BenchError({ message: `scale: ${cause.message}`, cause }))
    )
    const fiber = yield* scheduler.run.pipe(Effect.forkChild({ startImmediately: true }))
    const sampler = yield* Effect.gen(function*() {
      const now = yield* Clock.currentTimeMillis
      const keep = now - started >= nextMemorySampleAt
      if (keep) collectGarbage()
      const m = process.memoryUsage()
      peakRss = Math.max(peakRss, m.rss)
      peakHeapUsed = Math.max(peakHeapUsed, m.heapUsed)
      if (keep) {
        nextMemorySampleAt += memoryEveryMs
        memory.push({
          atSeconds: Math.round((now - started) / 100) / 10,
          rssMiB: mib(m.rss),
          heapUsedMiB: mib(m.heapUsed),
          heapTotalMiB: mib(m.heapTotal)
        })
      }
      timeline.push({
        atSeconds: (now - started) / 1000,
        rowsDone: rowsCheckpointed,
        providers: { fake: { inFlight: active, limit: capacity } }
      })
    }).pipe(Effect.repeat(Schedule.spaced("250 millis")), Effect.forkChild({ startImmediately: true }))
    const finished = yield* Fiber.join(fiber).pipe(
      Effect.timeoutOption(Duration.seconds(options.budgetSeconds)),
      Effect.mapError((cause) => new BenchError({ message: `scale: ${cause.message}`, cause }))
    )
    const elapsedSeconds = ((yield* Clock.currentTimeMillis) - started) / 1000
    const cpu = process.cpuUsage(cpuStart)
    const callsAtEnd = calls
    const busyAtEnd = busyMs
    lag.disable()
    // Leases held when the box closed: workers still in flight, which the interruption below must release.
    const taskLeasesAtTimeBox = (yield* scheduler.stats).taskLeases
    // `Fiber.interrupt` waits for the run to end, and the run interrupts and awaits its workers before it ends, so
    // the ledger is final here: a worker whose interruption skipped its release would still hold a lease.
    yield* Fiber.interrupt(fiber)
    yield* Fiber.interrupt(sampler)
    const taskLeases = (yield* scheduler.stats).taskLeases
    peakRss = Math.max(peakRss, process.memoryUsage().rss)
    const callsPerSecond = callsAtEnd / elapsedSeconds
    return {
      calls: callsAtEnd,
      realizedLatencyMs: callsAtEnd > 0 ? busyAtEnd / callsAtEnd : latencyMs,
      busySeconds: busyAtEnd / 1000,
      elapsedSeconds,
      callsPerSecond,
      completedRun: finished._tag === "Some",
      rowsCheckpointed,
      rowsDropped,
      cpuMicrosPerTask: callsAtEnd > 0 ? (cpu.user + cpu.system) / callsAtEnd : 0,
      cpuShare: (cpu.user + cpu.system) / 1e6 / elapsedSeconds,
      eventLoopDelayP99Ms: lag.percentile(99) / 1e6,
      peakRssMiB: peakRss / 1024 / 1024,
      rssGrowthMiB: (peakRss - rssAtStart) / 1024 / 1024,
      heapUsedAtStartMiB: mib(memoryAtStart.heapUsed),
      peakHeapUsedMiB: mib(peakHeapUsed),
      memory,
      timeline,
      taskLeasesAtTimeBox,
      // No request admission here (the fake model is called directly), so no request leases or waiters can exist.
      leaks: { taskLeases, requestLeases: 0, requestWaiters: 0 }
    }
  })

export const scale: Scenario = {
  name: "scale",
  describe: "1,000,000 rows × 8 model columns, capacity 512, 20 ms in-process fake model, time-boxed",
  run: (ctx: ScenarioContext) =>
    Effect.gen(function*() {
      const rows = ctx.tiny ? 2000 : 1_000_000
      // Tiny: a box the 16,000 calls fit in even on a loaded machine (the run returns as soon as it is done).
      const budgetSeconds = Option.getOrElse(yield* budgetOverride, () => ctx.tiny ? 10 : ctx.full ? 60 : 20)
      const r = yield* runScale({ rows, columns: 8, budgetSeconds, memorySampleSeconds: ctx.tiny ? 0.5 : 5 })
      const result = benchResult({
        scenario: "scale",
        rowsRequested: rows,
        rowsCompleted: r.rowsCheckpointed,
        rowsDropped: r.rowsDropped,
        admissionTimeouts: 0,
        maxRequestWaiters: 0,
        elapsedSeconds: r.elapsedSeconds,
        // Provider busy time actually slept ÷ capacity: what an ideal scheduler needs for the calls done in the box.
        idealSeconds: r.busySeconds / capacity,
        leaks: r.leaks,
        extra: {
          timeBoxSeconds: budgetSeconds,
          calls: r.calls,
          callsPerSecond: Math.round(r.callsPerSecond),
          callsPerSecondOver25600: Math.round((r.callsPerSecond / idealCallsPerSecond) * 1000) / 1000,
          realizedLatencyMs: Math.round(r.realizedLatencyMs * 100) / 100,
          cpuMicrosPerTask: Math.round(r.cpuMicrosPerTask * 10) / 10,
          cpuCoresUsed: Math.round(r.cpuShare * 100) / 100,
          eventLoopDelayP99Ms: Math.round(r.eventLoopDelayP99Ms * 10) / 10,
          peakRssMiB: Math.round(r.peakRssMiB),
          rssGrowthMiB: Math.round(r.rssGrowthMiB),
          heapUsedAtStartMiB: r.heapUsedAtStartMiB,
          peakHeapUsedMiB: r.peakHeapUsedMiB,
          memory: r.memory,
          finishedInsideBox: r.completedRun,
          // In flight when the box closed; `leaks.taskLeases` is what the stopped run still held of them.
          taskLeasesAtTimeBox: r.taskLeasesAtTimeBox
        }
      })
      return { result, table: resultTable([result]), timeline: r.timeline }
    })
}
