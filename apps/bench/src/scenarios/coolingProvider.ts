import { Effect } from "effect"
import { cpuSplitLabel } from "../BenchCpus.js"
import { benchResult } from "../BenchResult.js"
import { endpointSeconds, idealSeconds } from "../ideal.js"
import { resultTable } from "../markdown.js"
import { type PipelineBenchSpec, runPipelineBench } from "../pipelineRun.js"
import type { Scenario, ScenarioContext } from "../Scenario.js"

const quotaPerSecond = 20

/**
 * `cooling-provider`: 4 independent model columns on 4 providers (capacity
 * 16, latency U[100, 300] ms); the fourth accepts 20 requests/s (`rpm` 1200: 429 with Retry-After 1 beyond).
 * Ideal = max(healthy busy ÷ 16, (limited calls − 20 burst) ÷ 20/s): 2,048 rows → 102.4 s (`--full`); CI default 256 rows → 12.8 s.
 */
export const coolingProviderSpec = (rows: number): PipelineBenchSpec => ({
  providers: Array.from({ length: 4 }, (_, i) => ({
    name: `p${i + 1}`,
    mock: {
      capacity: 16,
      latencyMs: { min: 100, max: 300 },
      retryAfterSeconds: 1,
      seed: 40 + i,
      ...(i === 3 ? { rpm: quotaPerSecond * 60 } : {})
    },
    models: [{ alias: `m${i + 1}`, model: `mock-${i + 1}`, maxParallelRequests: 16 }]
  })),
  columns: [
    { name: "topic", type: "category", values: ["shoes", "tents", "lamps"] },
    ...Array.from({ length: 4 }, (_, i) => ({
      name: `col_${i + 1}`,
      type: "llm-text",
      model: `m${i + 1}`,
      prompt: `Describe {{ topic }} for provider ${i + 1}.`
    }))
  ],
  run: { rows, bufferSize: 64, maxConcurrentRowGroups: 3 }
})

export const coolingProvider: Scenario = {
  name: "cooling-provider",
  describe: "4 columns on 4 providers of capacity 16; the 4th limited to 20 requests/s (429, Retry-After 1)",
  run: (ctx: ScenarioContext) =>
    Effect.gen(function*() {
      const rows = ctx.tiny ? 32 : ctx.full ? 2048 : 256
      const run = yield* runPipelineBench(coolingProviderSpec(rows), ctx.placement, {
        sampleEveryMs: 100,
        rateLimitPollMs: 100
      })
      const { summary } = run
      const endpoints = run.providers.map((p) => ({
        name: p.name,
        load: {
          busySeconds: p.drawn.busySeconds,
          calls: p.drawn.admitted,
          maxParallelRequests: 16,
          capacity: 16,
          ratePerSecond: p.name === "p4" ? quotaPerSecond : undefined,
          rateBurst: p.name === "p4" ? quotaPerSecond : undefined
        },
        p
      }))
      const ideal = idealSeconds({
        endpoints: endpoints.map((e) => e.load),
        criticalPathCalls: 1,
        maxLatencySeconds: Math.max(...run.providers.map((p) => p.drawn.maxSeconds))
      })
      const elapsed = summary.elapsedSeconds
      const perProvider = Object.fromEntries(endpoints.map((e) => [e.name, {
        // Share of capacity-seconds the provider spent serving (drawn busy ÷ (16 × elapsed)).
        busyShare: Math.round((e.p.drawn.busySeconds / (16 * elapsed)) * 1000) / 1000,
        // Share of the run with at least one request in flight (sampled every 100 ms).
        activeShare: Math.round(((run.activeSeconds[e.name] ?? 0) / elapsed) * 1000) / 1000,
        idealSeconds: Math.round(endpointSeconds(e.load) * 1000) / 1000,
        served: e.p.stats.served,
        rejected429: e.p.stats.rejected429
      }]))
      const limited = run.providers.find((p) => p.name === "p4")!
      const result = benchResult({
        scenario: "cooling-provider",
        rowsRequested: summary.rowsRequested,
        rowsCompleted: summary.rowsCompleted,
        rowsDropped: summary.rowsDropped,
        admissionTimeouts: summary.requests.admissionTimeouts,
        maxRequestWaiters: summary.maxRequestWaiters,
        elapsedSeconds: elapsed,
        idealSeconds: ideal,
        leaks: summary.leaks,
        extra: {
          // The limited provider's served rate as a share of its 20/s quota (target ≥ 0.9).
          limitedQuotaShare: Math.round((limited.stats.served / elapsed / quotaPerSecond) * 1000) / 1000,
          limited429: limited.stats.rejected429,
          providers: perProvider,
          mockPlacement: ctx.placement,
          cpuSplit: yield* cpuSplitLabel
        }
      })
      return { result, table: resultTable([result]), timeline: run.timeline, marks: { rateLimited: run.rateLimited } }
    })
}
