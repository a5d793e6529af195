import { Console, Effect } from "effect"
import { cpuSplitLabel } from "../BenchCpus.js"
import { benchResult, type PeersReport, type PeerVariantResult, type TimelinePoint } from "../BenchResult.js"
import { idealSeconds } from "../ideal.js"
import { peersTable } from "../markdown.js"
import {
  admittedOf,
  BenchError,
  type MockPlacement,
  replayDrawnLatency,
  slotHandOverExtra,
  startMockEndpoint
} from "../mockHost.js"
import { runBottleneck } from "../peers/bottleneck.js"
import type { PeerRun, PeerWorkload } from "../peers/common.js"
import { runPLimit } from "../peers/pLimit.js"
import { runPQueue } from "../peers/pQueue.js"
import { type PipelineBenchSpec, runPipelineBench } from "../pipelineRun.js"
import type { Scenario, ScenarioContext } from "../Scenario.js"
import { medianRound, roundsExtra, warmUpRuns } from "../rounds.js"
import { hiddenCapacitySpec } from "./hiddenCapacity.js"
import { pressure725Spec } from "./pressure725.js"

type VariantName = PeerVariantResult["name"]

interface Workload {
  readonly name: string
  readonly spec: PipelineBenchSpec
  /** Model calls on a row's longest path. */
  readonly criticalPathCalls: number
  readonly capacity: number
}

/**
 * hidden-capacity's rounds are capped: p-queue + p-retry needs ≈ 37 s a round there (its Retry-After sleeps), and
 * the variants differ by far more than a round's spread, while pressure-725's differ by less (see BENCHMARKS.md).
 */
const hiddenCapacityMaxRounds = 3

const peerRunners: Record<Exclude<VariantName, "sluice">, (w: PeerWorkload) => Promise<PeerRun>> = {
  "p-limit": runPLimit,
  "p-queue": runPQueue,
  "bottleneck": runBottleneck
}

/** The model columns of a spec as a per-row call DAG (requirements read from `{{ column }}` in prompts). */
const callDag = (spec: PipelineBenchSpec): PeerWorkload["columns"] => {
  const model = spec.columns.filter((c) => typeof c["model"] === "string")
  const names = new Set(model.map((c) => String(c["name"])))
  return model.map((c) => ({
    name: String(c["name"]),
    requires: [...String(c["prompt"]).matchAll(/\{\{\s*(\w+)\s*\}\}/g)].map((m) => m[1]!).filter((n) => names.has(n))
  }))
}

const runVariant = (workload: Workload, name: VariantName, placement: MockPlacement) =>
  Effect.gen(function*() {
    yield* Console.error(`peers: ${workload.name} by ${name}`)
    const provider = workload.spec.providers[0]!
    const model = provider.models[0]!
    const ideal = (busySeconds: number, calls: number, maxSeconds: number) =>
      idealSeconds({
        endpoints: [{
          busySeconds,
          calls,
          maxParallelRequests: model.maxParallelRequests,
          capacity: workload.capacity
        }],
        criticalPathCalls: workload.criticalPathCalls,
        maxLatencySeconds: maxSeconds
      })
    if (name === "sluice") {
      const run = yield* runPipelineBench(workload.spec, placement)
      const p = run.providers[0]!
      const attempts = p.stats.served + p.stats.rejected429 + p.stats.serverErrors
      const result: PeerVariantResult = {
        name,
        workload: workload.name,
        ...benchResult({
          scenario: "peers",
          rowsRequested: run.summary.rowsRequested,
          rowsCompleted: run.summary.rowsCompleted,
          rowsDropped: run.summary.rowsDropped,
          admissionTimeouts: run.summary.requests.admissionTimeouts,
          maxRequestWaiters: run.summary.maxRequestWaiters,
          elapsedSeconds: run.summary.elapsedSeconds,
          idealSeconds: ideal(p.drawn.busySeconds, p.drawn.admitted, p.drawn.maxSeconds),
          leaks: run.summary.leaks,
          extra: {
            attempts,
            rejected429: p.stats.rejected429,
            share429: share(p.stats.rejected429, attempts),
            ...slotHandOverExtra(p.stats),
            mockPlacement: placement
          }
        })
      }
      return { result, timeline: run.timeline }
    }
    return yield* Effect.scoped(Effect.gen(function*() {
      const endpoint = yield* startMockEndpoint(provider.mock, placement)
      const rows = Number(workload.spec.run["rows"])
      const peerRun = yield* Effect.tryPromise({
        try: () =>
          peerRunners[name]({
            rows,
            columns: callDag(workload.spec),
            baseUrl: endpoint.url,
            model: model.model,
            maxParallelRequests: model.maxParallelRequests
          }),
        catch: (cause) => new BenchError({ message: `${name}: ${String(cause)}`, cause })
      })
      const stats = yield* endpoint.stats
      const drawn = yield* replayDrawnLatency(endpoint.options, admittedOf(stats))
      const attempts = stats.served + stats.rejected429 + stats.serverErrors
      const result: PeerVariantResult = {
        name,
        workload: workload.name,
        ...benchResult({
          scenario: "peers",
          rowsRequested: rows,
          rowsCompleted: peerRun.rowsCompleted,
          rowsDropped: peerRun.rowsDropped,
          admissionTimeouts: 0,
          maxRequestWaiters: 0,
          elapsedSeconds: peerRun.elapsedSeconds,
          idealSeconds: ideal(drawn.busySeconds, drawn.admitted, drawn.maxSeconds),
          leaks: { taskLeases: 0, requestLeases: 0, requestWaiters: 0 },
          extra: {
            attempts,
            rejected429: stats.rejected429,
            share429: share(stats.rejected429, attempts),
            gaveUp: peerRun.gaveUp,
            ...slotHandOverExtra(stats),
            mockPlacement: placement
          }
        })
      }
      const timeline: Array<TimelinePoint> = peerRun.timeline.map((p) => ({
        atSeconds: p.atSeconds,
        rowsDone: p.rowsDone,
        providers: { [name]: { inFlight: p.inFlight, limit: p.limit } }
      }))
      return { result, timeline }
    }))
  })

const share = (part: number, whole: number) => (whole > 0 ? Math.round((part / whole) * 10000) / 10000 : 0)

const order: ReadonlyArray<VariantName> = ["sluice", "p-limit", "p-queue", "bottleneck"]

/**
 * The measured runs in the order they happen: round by round, pressure-725 (index 0) then hidden-capacity (index 1,
 * at most `hiddenCapacityMaxRounds` rounds), the variant order reversed from one workload and round to the next.
 */
export const peerRunOrder = (
  rounds: number
): ReadonlyArray<{ readonly workload: 0 | 1; readonly variant: VariantName }> => {
  const runs: Array<{ workload: 0 | 1; variant: VariantName }> = []
  for (let round = 0; round < rounds; round++) {
    for (const workload of [0, 1] as const) {
      if (workload === 1 && round >= hiddenCapacityMaxRounds) continue
      for (const variant of (round + workload) % 2 === 0 ? order : [...order].reverse()) {
        runs.push({ workload, variant })
      }
    }
  }
  return runs
}

/**
 * `peers`: `pressure-725` and `hidden-capacity` done by Sluice and by what a TypeScript user would write instead
 * (p-limit, p-queue + p-retry, bottleneck), each variant against its own fresh mock with the same seed and
 * options, in one run. Every peer is given the declared `maxParallelRequests` — exactly what Sluice is given.
 * Each variant first runs `pressure-725` `warmUpRuns` times untimed (warm-up), then `ctx.rounds` rounds
 * (hidden-capacity at most 3), the order reversed from one workload and round to the next; each variant reports
 * its median round.
 */
export const peers: Scenario = {
  name: "peers",
  describe:
    "pressure-725 and hidden-capacity by sluice, p-limit, p-queue + p-retry, bottleneck (same mock, alternating order)",
  run: (ctx: ScenarioContext) =>
    Effect.gen(function*() {
      const rounds = Math.max(1, ctx.rounds ?? 1)
      const workloads: ReadonlyArray<Workload> = [
        { name: "pressure-725", spec: pressure725Spec(ctx.tiny ? 16 : 128), criticalPathCalls: 1, capacity: 32 },
        { name: "hidden-capacity", spec: hiddenCapacitySpec(ctx.tiny ? 40 : 400), criticalPathCalls: 2, capacity: 24 }
      ]
      // Warm-up: every variant `warmUpRuns` times through the whole pressure-725 workload, untimed (see rounds.ts).
      if (!ctx.tiny) {
        for (const name of order) {
          for (let i = 0; i < warmUpRuns; i++) {
            yield* runVariant({ ...workloads[0]!, name: "warm-up" }, name, ctx.placement)
          }
        }
      }
      const runs = new Map<string, Array<{ result: PeerVariantResult; timeline: ReadonlyArray<TimelinePoint> }>>()
      for (const { workload: index, variant: name } of peerRunOrder(rounds)) {
        const workload = workloads[index]!
        const run = yield* runVariant(workload, name, ctx.placement)
        const key = `${workload.name}/${name}`
        runs.set(key, [...(runs.get(key) ?? []), run])
      }
      const cpuSplit = yield* cpuSplitLabel
      const variants: Array<PeerVariantResult> = []
      const timeline: Array<TimelinePoint> = []
      let offset = 0
      for (const workload of workloads) {
        for (const name of order) {
          const [first, ...rest] = runs.get(`${workload.name}/${name}`) ?? []
          if (first === undefined) {
            continue
          }
          const { median, ratios } = medianRound([first, ...rest], (r) => r.result.ratioToIdeal)
          variants.push({
            ...median.result,
            extra: { ...median.result.extra, ...roundsExtra(ratios), cpuSplit }
          })
          // One SVG for all variants: median runs laid end to end, one series per workload/variant.
          for (const p of median.timeline) {
            const providers = Object.fromEntries(Object.values(p.providers).map((v) => [`${workload.name}/${name}`, v]))
            timeline.push({ atSeconds: offset + p.atSeconds, rowsDone: p.rowsDone, providers })
          }
          offset += median.result.elapsedSeconds
        }
      }
      const result: PeersReport = { scenario: "peers", variants }
      return { result, table: peersTable(result), timeline }
    })
}
