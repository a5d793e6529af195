import { Effect } from "effect"
import { cpuSplitLabel } from "../BenchCpus.js"
import { benchResult, type TimelinePoint } from "../BenchResult.js"
import { idealSeconds } from "../ideal.js"
import { markdownTable } from "../markdown.js"
import { BenchError, type MockPlacement, startMockEndpoint } from "../mockHost.js"
import { type ColumnWork, runColumnByColumn } from "../peers/columnByColumn.js"
import { type BenchProvider, type PipelineBenchSpec, runPipelineBench } from "../pipelineRun.js"
import type { Scenario, ScenarioContext } from "../Scenario.js"

/**
 * `dag-shapes`: the anchor's dev note's narrow, deep, wide and dual-model DAGs, 10 rows,
 * cap 16 per model (generator and judge on separate endpoints), latency U[300, 900] ms (mean 0.6 s, about half the
 * anchor's 1.17 s so the whole scenario stays CI-sized). Each shape runs through Sluice and through a
 * column-by-column baseline (the old sync engine's shape) on fresh mocks with the same seeds.
 * Ideal = max endpoint busy ÷ 16 + (calls on the longest path − 1) × longest latency.
 */
interface Shape {
  readonly name: string
  /** column → [requires, endpoint] */
  readonly columns: ReadonlyArray<
    { readonly name: string; readonly requires: ReadonlyArray<string>; readonly judge?: boolean }
  >
  readonly criticalPathCalls: number
  readonly anchorSpeedup: number
}

const shapes: ReadonlyArray<Shape> = [
  {
    name: "narrow",
    columns: [{ name: "summary", requires: [] }, { name: "analysis", requires: ["summary"] }, {
      name: "conclusion",
      requires: ["analysis"]
    }],
    criticalPathCalls: 3,
    anchorSpeedup: 1.1
  },
  {
    name: "deep",
    columns: [
      { name: "summary", requires: [] },
      { name: "trivia", requires: [] },
      { name: "analysis", requires: ["summary"] },
      { name: "conclusion", requires: ["analysis"] }
    ],
    criticalPathCalls: 3,
    anchorSpeedup: 1.3
  },
  {
    name: "wide",
    columns: ["summary", "trivia", "analysis", "conclusion", "trivia_2"].map((name) => ({ name, requires: [] })),
    criticalPathCalls: 1,
    anchorSpeedup: 1.5
  },
  {
    name: "dual-model",
    columns: [
      { name: "summary", requires: [] },
      { name: "trivia", requires: [] },
      { name: "analysis", requires: [] },
      { name: "judge_sum", requires: ["summary"], judge: true },
      { name: "judge_tri", requires: ["trivia"], judge: true },
      { name: "judge_ana", requires: ["analysis"], judge: true }
    ],
    criticalPathCalls: 2,
    anchorSpeedup: 1.6
  }
]

const latencyMs = { min: 300, max: 900 }

const shapeSpec = (shape: Shape, rows: number): PipelineBenchSpec => {
  const providers: Array<BenchProvider> = [
    {
      name: "gen",
      mock: { capacity: 16, latencyMs, seed: 101 },
      models: [{ alias: "generator", model: "mock-gen", maxParallelRequests: 16 }]
    }
  ]
  if (shape.columns.some((c) => c.judge)) {
    providers.push({
      name: "judge",
      mock: { capacity: 16, latencyMs, seed: 202 },
      models: [{ alias: "judge", model: "mock-judge", maxParallelRequests: 16 }]
    })
  }
  return {
    providers,
    columns: [
      { name: "topic", type: "category", values: ["volcanoes", "tides", "bees"] },
      ...shape.columns.map((c) => ({
        name: c.name,
        type: "llm-text",
        model: c.judge ? "judge" : "generator",
        prompt: `${c.name} of {{ topic }}${c.requires.map((r) => ` given {{ ${r} }}`).join("")}`
      }))
    ],
    run: { rows, bufferSize: rows }
  }
}

const baseline = (shape: Shape, spec: PipelineBenchSpec, rows: number, placement: MockPlacement) =>
  Effect.scoped(Effect.gen(function*() {
    const urls = new Map<string, string>()
    for (const p of spec.providers) urls.set(p.name, (yield* startMockEndpoint(p.mock, placement)).url)
    const work: Array<ColumnWork> = shape.columns.map((c) => {
      const provider = spec.providers.find((p) => p.name === (c.judge ? "judge" : "gen"))!
      return {
        name: c.name,
        requires: c.requires,
        endpoint: { baseUrl: urls.get(provider.name)!, model: provider.models[0]!.model, maxParallelRequests: 16 }
      }
    })
    return yield* Effect.tryPromise({
      try: () => runColumnByColumn(rows, work),
      catch: (cause) => new BenchError({ message: `column-by-column ${shape.name}: ${String(cause)}`, cause })
    })
  }))

export const dagShapes: Scenario = {
  name: "dag-shapes",
  describe: "narrow, deep, wide and dual-model DAGs (10 rows, cap 16) vs a column-by-column baseline",
  run: (ctx: ScenarioContext) =>
    Effect.gen(function*() {
      const rows = ctx.full ? 1000 : 10
      const perShape: Array<Record<string, number | string>> = []
      let totals = { rows: 0, completed: 0, dropped: 0, admissionTimeouts: 0, waiters: 0, elapsed: 0, ideal: 0 }
      let leaks = { taskLeases: 0, requestLeases: 0, requestWaiters: 0 }
      // One SVG for all shapes: Sluice's runs laid end to end, one series per shape and provider.
      const timeline: Array<TimelinePoint> = []
      for (const shape of ctx.tiny ? shapes.slice(0, 1) : shapes) {
        const spec = shapeSpec(shape, ctx.tiny ? 4 : rows)
        const run = yield* runPipelineBench(spec, ctx.placement)
        const offset = totals.elapsed
        for (const p of run.timeline) {
          const providers = Object.fromEntries(
            Object.entries(p.providers).map(([provider, v]) => [`${shape.name}/${provider}`, v])
          )
          timeline.push({ atSeconds: offset + p.atSeconds, rowsDone: totals.completed + p.rowsDone, providers })
        }
        const base = yield* baseline(shape, spec, ctx.tiny ? 4 : rows, ctx.placement)
        const ideal = idealSeconds({
          endpoints: run.providers.map((p) => ({
            busySeconds: p.drawn.busySeconds,
            calls: p.drawn.admitted,
            maxParallelRequests: 16,
            capacity: 16
          })),
          criticalPathCalls: shape.criticalPathCalls,
          maxLatencySeconds: Math.max(...run.providers.map((p) => p.drawn.maxSeconds))
        })
        const s = run.summary
        totals = {
          rows: totals.rows + s.rowsRequested,
          completed: totals.completed + s.rowsCompleted,
          dropped: totals.dropped + s.rowsDropped,
          admissionTimeouts: totals.admissionTimeouts + s.requests.admissionTimeouts,
          waiters: Math.max(totals.waiters, s.maxRequestWaiters),
          elapsed: totals.elapsed + s.elapsedSeconds,
          ideal: totals.ideal + ideal
        }
        leaks = {
          taskLeases: leaks.taskLeases + s.leaks.taskLeases,
          requestLeases: leaks.requestLeases + s.leaks.requestLeases,
          requestWaiters: leaks.requestWaiters + s.leaks.requestWaiters
        }
        perShape.push({
          shape: shape.name,
          sluiceSeconds: s.elapsedSeconds,
          columnByColumnSeconds: Math.round(base.elapsedSeconds * 1000) / 1000,
          speedup: Math.round((base.elapsedSeconds / s.elapsedSeconds) * 100) / 100,
          anchorSpeedup: shape.anchorSpeedup,
          idealSeconds: Math.round(ideal * 1000) / 1000,
          ratioToIdeal: Math.round((s.elapsedSeconds / ideal) * 1000) / 1000
        })
      }
      const result = benchResult({
        scenario: "dag-shapes",
        rowsRequested: totals.rows,
        rowsCompleted: totals.completed,
        rowsDropped: totals.dropped,
        admissionTimeouts: totals.admissionTimeouts,
        maxRequestWaiters: totals.waiters,
        elapsedSeconds: totals.elapsed,
        idealSeconds: totals.ideal,
        leaks,
        extra: { shapes: perShape, mockPlacement: ctx.placement, cpuSplit: yield* cpuSplitLabel }
      })
      const table = markdownTable(
        ["shape", "sluice s", "column-by-column s", "speedup", "anchor speedup", "ideal s", "× ideal"],
        perShape.map((
          p
        ) => [
          p["shape"],
          p["sluiceSeconds"],
          p["columnByColumnSeconds"],
          p["speedup"],
          p["anchorSpeedup"],
          p["idealSeconds"],
          p["ratioToIdeal"]
        ])
      )
      return { result, table, timeline }
    })
}
