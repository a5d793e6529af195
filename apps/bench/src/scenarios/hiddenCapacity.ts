import { Effect } from "effect"
import { cpuSplitLabel } from "../BenchCpus.js"
import { benchResult } from "../BenchResult.js"
import { idealSeconds } from "../ideal.js"
import { resultTable } from "../markdown.js"
import { type PipelineBenchRun, type PipelineBenchSpec, runPipelineBench } from "../pipelineRun.js"
import type { Scenario, ScenarioContext } from "../Scenario.js"

/**
 * `hidden-capacity`: declared `maxParallelRequests` 64, real mock capacity 24 (429 beyond,
 * Retry-After 1 s), latency U[50, 150] ms, 400 rows × 2 chained calls. AIMD must find 24 and then probe rarely.
 * Ideal = busy ÷ 24 + one more call on the path (max latency) ≈ 800 × 0.1 / 24 + 0.15 ≈ 3.5 s.
 */
export const hiddenCapacitySpec = (rows = 400, seed = 24): PipelineBenchSpec => ({
  providers: [{
    name: "mock",
    mock: { capacity: 24, latencyMs: { min: 50, max: 150 }, retryAfterSeconds: 1, seed },
    models: [{ alias: "writer", model: "mock-writer", maxParallelRequests: 64 }]
  }],
  columns: [
    { name: "topic", type: "category", values: ["shoes", "tents", "lamps"] },
    { name: "draft", type: "llm-text", model: "writer", prompt: "Draft a note about {{ topic }}." },
    { name: "final", type: "llm-text", model: "writer", prompt: "Polish this note: {{ draft }}" }
  ],
  run: { rows }
})

export const hiddenCapacityIdeal = (run: PipelineBenchRun): number => {
  const p = run.providers[0]!
  return idealSeconds({
    endpoints: [{ busySeconds: p.drawn.busySeconds, calls: p.drawn.admitted, maxParallelRequests: 64, capacity: 24 }],
    criticalPathCalls: 2,
    maxLatencySeconds: p.drawn.maxSeconds
  })
}

export const hiddenCapacity: Scenario = {
  name: "hidden-capacity",
  describe: "declared 64 parallel, real capacity 24 (429 + Retry-After 1 s), 400 rows × 2 chained calls",
  run: (ctx: ScenarioContext) =>
    Effect.gen(function*() {
      const run = yield* runPipelineBench(hiddenCapacitySpec(ctx.tiny ? 40 : 400), ctx.placement, {
        rateLimitPollMs: 100
      })
      const { summary } = run
      const p = run.providers[0]!
      const attempts = p.stats.served + p.stats.rejected429 + p.stats.serverErrors
      const result = benchResult({
        scenario: "hidden-capacity",
        rowsRequested: summary.rowsRequested,
        rowsCompleted: summary.rowsCompleted,
        rowsDropped: summary.rowsDropped,
        admissionTimeouts: summary.requests.admissionTimeouts,
        maxRequestWaiters: summary.maxRequestWaiters,
        elapsedSeconds: summary.elapsedSeconds,
        idealSeconds: hiddenCapacityIdeal(run),
        leaks: summary.leaks,
        extra: {
          share429: attempts > 0 ? Math.round((p.stats.rejected429 / attempts) * 10000) / 10000 : 0,
          attempts,
          rejected429: p.stats.rejected429,
          providerMaxConcurrent: p.stats.maxConcurrent,
          meanLatencyDrawnSeconds: Math.round(p.drawn.meanSeconds * 10000) / 10000,
          mockPlacement: p.endpoint.placement,
          cpuSplit: yield* cpuSplitLabel
        }
      })
      const marks = { capacity: { label: "real capacity 24", requests: 24 }, rateLimited: run.rateLimited }
      return { result, table: resultTable([result]), timeline: run.timeline, marks }
    })
}
