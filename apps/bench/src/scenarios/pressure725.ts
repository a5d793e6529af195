import { Effect } from "effect"
import { benchResult } from "../BenchResult.js"
import { cpuSplitLabel } from "../BenchCpus.js"
import { idealSeconds } from "../ideal.js"
import { resultTable } from "../markdown.js"
import { type PipelineBenchRun, type PipelineBenchSpec, runPipelineBench } from "../pipelineRun.js"
import { slotHandOverExtra } from "../mockHost.js"
import { medianRound, roundsExtra, warmUpRuns } from "../rounds.js"
import type { Scenario, ScenarioContext } from "../Scenario.js"

/**
 * `pressure-725`: 128 rows, a `category` seed, 8 independent `llm-text`
 * columns on one endpoint, capacity = `maxParallelRequests` = 32, `maxInFlightTasks` 128, latency U[70, 210] ms,
 * queue-wait timeout 0.15 s. Ideal = busy ÷ 32 (one call per row path, so no drain term) ≈ 4.48 s.
 */
export const pressure725Spec = (rows = 128, seed = 725): PipelineBenchSpec => ({
  providers: [{
    name: "mock",
    mock: { capacity: 32, latencyMs: { min: 70, max: 210 }, retryAfterSeconds: 1, seed },
    models: [{ alias: "writer", model: "mock-writer", maxParallelRequests: 32 }]
  }],
  columns: [
    { name: "topic", type: "category", values: ["shoes", "tents", "lamps"] },
    ...Array.from({ length: 8 }, (_, k) => ({
      name: `text_${k + 1}`,
      type: "llm-text",
      model: "writer",
      prompt: `Write note ${k + 1} about {{ topic }}.`
    }))
  ],
  run: {
    rows,
    bufferSize: rows,
    maxInFlightTasks: 128,
    requestAdmission: { queueWaitTimeoutSeconds: 0.15 },
    // `SLUICE_BENCH_EVENTS=1` measures the same run writing `events.jsonl` (the event log's cost).
    ...(process.env["SLUICE_BENCH_EVENTS"] === "1" ? { events: true } : {})
  }
})

export const pressure725Ideal = (run: PipelineBenchRun): number => {
  const p = run.providers[0]!
  return idealSeconds({
    endpoints: [{ busySeconds: p.drawn.busySeconds, calls: p.drawn.admitted, maxParallelRequests: 32, capacity: 32 }],
    criticalPathCalls: 1,
    maxLatencySeconds: p.drawn.maxSeconds
  })
}

export const pressure725Result = (run: PipelineBenchRun, extra: Record<string, unknown> = {}) => {
  const { summary } = run
  const p = run.providers[0]!
  return benchResult({
    scenario: "pressure-725",
    rowsRequested: summary.rowsRequested,
    rowsCompleted: summary.rowsCompleted,
    rowsDropped: summary.rowsDropped,
    admissionTimeouts: summary.requests.admissionTimeouts,
    maxRequestWaiters: summary.maxRequestWaiters,
    elapsedSeconds: summary.elapsedSeconds,
    idealSeconds: pressure725Ideal(run),
    leaks: summary.leaks,
    extra: {
      attempts: summary.requests.attempts,
      rateLimited: summary.requests.rateLimited,
      meanLatencyDrawnSeconds: Math.round(p.drawn.meanSeconds * 10000) / 10000,
      providerMaxConcurrent: p.stats.maxConcurrent,
      ...slotHandOverExtra(p.stats),
      mockPlacement: p.endpoint.placement,
      anchorRatioToIdeal: 1.114,
      ...extra
    }
  })
}

export const pressure725: Scenario = {
  name: "pressure-725",
  describe: "128 rows × 8 wide llm-text columns on one endpoint of capacity 32, queue-wait timeout 0.15 s",
  run: (ctx: ScenarioContext) =>
    Effect.gen(function*() {
      const rows = ctx.tiny ? 16 : 128
      // Untimed warm-up (see rounds.ts), then the measured rounds; the median round is the result.
      if (!ctx.tiny) {
        for (let i = 0; i < warmUpRuns; i++) yield* runPipelineBench(pressure725Spec(rows), ctx.placement)
      }
      const first = yield* runPipelineBench(pressure725Spec(rows), ctx.placement)
      const rest: Array<PipelineBenchRun> = []
      for (let round = 1; round < (ctx.rounds ?? 1); round++) {
        rest.push(yield* runPipelineBench(pressure725Spec(rows), ctx.placement))
      }
      const ratioOf = (r: PipelineBenchRun) => r.summary.elapsedSeconds / pressure725Ideal(r)
      const { median: run, ratios } = medianRound([first, ...rest], ratioOf)
      // The other placement once, as a measure of how much sharing one event loop with the mock skews timing.
      const other = ctx.tiny
        ? undefined
        : yield* runPipelineBench(
          pressure725Spec(rows),
          ctx.placement === "in-process" ? "child-process" : "in-process"
        )
      const otherExtra = other === undefined ? {} : {
        [`${other.providers[0]!.endpoint.placement}RatioToIdeal`]: Math.round(ratioOf(other) * 1000) / 1000,
        [`${other.providers[0]!.endpoint.placement}ElapsedSeconds`]: other.summary.elapsedSeconds
      }
      const result = pressure725Result(run, {
        ...roundsExtra(ratios.map((r) => Math.round(r * 1000) / 1000)),
        ...otherExtra,
        cpuSplit: yield* cpuSplitLabel
      })
      const marks = { capacity: { label: "capacity 32", requests: 32 } }
      return { result, table: resultTable([result]), timeline: run.timeline, marks }
    })
}
