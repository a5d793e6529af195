import { NodeServices } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { type BenchResult, benchResultKeys, type PeersReport } from "../src/BenchResult.js"
import { scenarioNames, scenarios } from "../src/registry.js"
import { runScale } from "../src/scenarios/scale.js"
import type { ScenarioContext } from "../src/Scenario.js"

// Tiny sizes, mock in this process (the child-process placement needs the built CLI): the harness end to end.
const ctx: ScenarioContext = { full: false, tiny: true, placement: "in-process" }

const run = (name: string, rounds = 1) => {
  const scenario = scenarios.find((s) => s.name === name)!
  return scenario.run({ ...ctx, rounds }).pipe(Effect.provide(NodeServices.layer))
}

const assertShape = (result: BenchResult) => {
  assert.deepStrictEqual(Object.keys(JSON.parse(JSON.stringify(result))), [...benchResultKeys])
  assert.strictEqual(result.rowsCompleted + result.rowsDropped, result.rowsRequested)
  assert.isAbove(result.idealSeconds, 0)
  assert.deepStrictEqual(result.leaks, { taskLeases: 0, requestLeases: 0, requestWaiters: 0 })
}

describe("bench scenarios (tiny)", () => {
  it("registers every scenario", () => {
    assert.deepStrictEqual([...scenarioNames].sort(), [
      "cooling-provider",
      "dag-shapes",
      "heavy-root",
      "hidden-capacity",
      "peers",
      "pressure-725",
      "scale",
      "scaleout"
    ])
  })

  it.live("pressure-725 runs end to end and reports the ideal's measured inputs", () =>
    Effect.gen(function*() {
      const { result, table, timeline } = yield* run("pressure-725")
      const r = result as BenchResult
      assertShape(r)
      assert.strictEqual(r.scenario, "pressure-725")
      assert.strictEqual(r.rowsRequested, 16)
      assert.strictEqual(r.extra["attempts"], 16 * 8)
      assert.strictEqual(r.extra["mockPlacement"], "in-process")
      assert.include(table, "| pressure-725 |")
      assert.isAbove(timeline.length, 0)
    }), 30_000)

  it.live(
    "hidden-capacity marks the real capacity and every 429 the mock answered on its timeline",
    () =>
      Effect.gen(function*() {
        const { marks, result, timeline } = yield* run("hidden-capacity")
        const r = result as BenchResult
        assertShape(r)
        assert.deepStrictEqual(marks?.capacity, { label: "real capacity 24", requests: 24 })
        const marked = (marks?.rateLimited ?? []).reduce((sum, m) => sum + m.count, 0)
        // How many 429s the first wave draws depends on how fast it leaves on a loaded machine (none is possible);
        // what the plot must do is mark every one the mock answered.
        assert.strictEqual(marked, r.extra["rejected429"])
        // rows in whole rows: none before the first row group is written, all of them at the end
        assert.strictEqual(timeline[0]!.rowsDone, 0)
        assert.strictEqual(timeline.at(-1)!.rowsDone, r.rowsRequested)
      }),
    30_000
  )

  it.live("dag-shapes draws Sluice's runs end to end, one series per shape and provider", () =>
    Effect.gen(function*() {
      const { result, timeline } = yield* run("dag-shapes")
      assertShape(result as BenchResult)
      assert.isAbove(timeline.length, 0)
      const series = new Set(timeline.flatMap((p) => Object.keys(p.providers)))
      assert.isTrue([...series].every((name) => name.startsWith("narrow/")), [...series].join(", "))
    }), 30_000)

  it.live("heavy-root reports the peer p95 on virtual time", () =>
    Effect.gen(function*() {
      const { result, timeline } = yield* run("heavy-root")
      const r = result as BenchResult
      assertShape(r)
      assert.isNumber(r.extra["peerP95Seconds"])
      // Plotted on virtual seconds: both groups' tasks in flight against the 8 shared slots.
      assert.deepStrictEqual(Object.keys(timeline.at(-1)!.providers), ["heavy (weight 4)", "peer (weight 1)"])
      assert.strictEqual(timeline.at(-1)!.rowsDone, 32)
    }), 30_000)

  it.live("scale reports its memory curve (RSS and V8 heap) beside peak RSS", () =>
    Effect.gen(function*() {
      const r = (yield* run("scale")).result as BenchResult
      assertShape(r)
      const memory = r.extra["memory"] as ReadonlyArray<{ atSeconds: number; rssMiB: number; heapUsedMiB: number }>
      assert.isAbove(memory.length, 0)
      for (const m of memory) assert.isAbove(m.heapUsedMiB, 0)
      assert.isAtLeast(r.extra["peakHeapUsedMiB"] as number, r.extra["heapUsedAtStartMiB"] as number)
    }), 30_000)

  it.live(
    "scale cut off by its time box: workers in flight when the box closes, no lease held once stopped",
    () =>
      Effect.gen(function*() {
        // 20,000 rows × 8 columns need ≥ 6 s at the ideal 25,600 calls/s: a 0.3 s box interrupts the run mid-flight.
        const r = yield* runScale({ rows: 20_000, columns: 8, budgetSeconds: 0.3, memorySampleSeconds: 1 })
        assert.isFalse(r.completedRun)
        assert.isAbove(r.taskLeasesAtTimeBox, 0, "the box closed with no task running: this would prove nothing")
        assert.deepStrictEqual(r.leaks, { taskLeases: 0, requestLeases: 0, requestWaiters: 0 })
      }),
    30_000
  )

  it.live("peers reports one line per workload and variant", () =>
    Effect.gen(function*() {
      const report = (yield* run("peers")).result as PeersReport
      assert.strictEqual(report.scenario, "peers")
      assert.deepStrictEqual(
        report.variants.map((v) => `${v.workload}/${v.name}`),
        [
          "pressure-725/sluice",
          "pressure-725/p-limit",
          "pressure-725/p-queue",
          "pressure-725/bottleneck",
          "hidden-capacity/sluice",
          "hidden-capacity/p-limit",
          "hidden-capacity/p-queue",
          "hidden-capacity/bottleneck"
        ]
      )
      for (const v of report.variants) {
        assert.strictEqual(v.rowsCompleted + v.rowsDropped, v.rowsRequested)
        // every client refilled freed slots, as the mock saw it
        assert.isAbove(v.extra["handOverP50Micros"] as number, 0, `${v.workload}/${v.name}`)
        assert.isAbove(v.extra["startupSlotMs"] as number, 0, `${v.workload}/${v.name}`)
      }
    }), 30_000)

  it.live("pressure-725 with rounds reports the median round and every round's ratio", () =>
    Effect.gen(function*() {
      const r = (yield* run("pressure-725", 3)).result as BenchResult
      assertShape(r)
      const ratios = r.extra["roundRatios"] as ReadonlyArray<number>
      assert.strictEqual(r.extra["rounds"], 3)
      assert.strictEqual(ratios.length, 3)
      assert.strictEqual(r.ratioToIdeal, [...ratios].sort((a, b) => a - b)[1])
      assert.strictEqual(r.extra["cpuSplit"], "shared", "nothing is pinned without the bench command's BenchCpus")
    }), 30_000)
})
