import { NodeServices } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { benchResult, benchResultKeys } from "../src/BenchResult.js"
import {
  columnByColumnSeconds,
  endpointSeconds,
  expectedIdealSeconds,
  idealSeconds,
  listScheduleMakespan
} from "../src/ideal.js"
import { markdownTable, resultTable } from "../src/markdown.js"
import { replayDrawnLatency } from "../src/mockHost.js"
import { medianRound, quantile, roundsExtra } from "../src/rounds.js"
import { peerRunOrder } from "../src/scenarios/peers.js"
import { defaultMockOptions } from "@sluice/mock-provider"

describe("bench result", () => {
  it("has the JSON line's keys in order and computes the ratio to ideal", () => {
    const result = benchResult({
      scenario: "pressure-725",
      rowsRequested: 128,
      rowsCompleted: 128,
      rowsDropped: 0,
      admissionTimeouts: 0,
      maxRequestWaiters: 0,
      elapsedSeconds: 4.70049,
      idealSeconds: 4.48,
      leaks: { taskLeases: 0, requestLeases: 0, requestWaiters: 0 },
      extra: { attempts: 1024 }
    })
    const line = JSON.stringify(result)
    assert.isFalse(line.includes("\n"))
    const parsed = JSON.parse(line) as Record<string, unknown>
    assert.deepStrictEqual(Object.keys(parsed), [...benchResultKeys])
    assert.strictEqual(parsed["ratioToIdeal"], 1.049)
    assert.strictEqual(parsed["elapsedSeconds"], 4.7)
  })

  it("renders Markdown tables with one row per result", () => {
    const table = markdownTable(["a", "b"], [["x", 1.23456], ["y", 2]])
    assert.deepStrictEqual(table.split("\n"), ["| a | b |", "| --- | ---: |", "| x | 1.235 |", "| y | 2 |"])
    const r = benchResult({
      scenario: "s",
      rowsRequested: 2,
      rowsCompleted: 1,
      rowsDropped: 1,
      admissionTimeouts: 0,
      maxRequestWaiters: 0,
      elapsedSeconds: 1,
      idealSeconds: 0,
      leaks: { taskLeases: 0, requestLeases: 0, requestWaiters: 0 },
      extra: { share429: 0.5, nested: { ignored: true } }
    })
    assert.strictEqual(r.ratioToIdeal, 0)
    assert.include(resultTable([r]), "| s | 1/2 | 1 |")
    assert.include(resultTable([r]), "share429 0.500")
  })
})

describe("ideal formulas", () => {
  it("pressure-725: 128 × 8 × 0.14 s ÷ 32 = 4.48 s, no drain for a one-call path", () => {
    assert.closeTo(
      expectedIdealSeconds({ rows: 128, callsPerRow: 8, latencyMs: [70, 210], concurrency: 32, criticalPathCalls: 1 }),
      4.48,
      1e-9
    )
  })

  it("hidden-capacity: 800 × 0.1 ÷ min(64, 24) + one more call at 0.15 s ≈ 3.48 s", () => {
    assert.closeTo(
      expectedIdealSeconds({ rows: 400, callsPerRow: 2, latencyMs: [50, 150], concurrency: 24, criticalPathCalls: 2 }),
      80 / 24 + 0.15,
      1e-9
    )
    assert.closeTo(
      idealSeconds({
        endpoints: [{ busySeconds: 80, calls: 800, maxParallelRequests: 64, capacity: 24 }],
        criticalPathCalls: 2,
        maxLatencySeconds: 0.15
      }),
      80 / 24 + 0.15,
      1e-9
    )
  })

  it("cooling-provider: the rate-limited endpoint binds at calls ÷ quota (2,048 ÷ 20/s = 102.4 s)", () => {
    const limited = { busySeconds: 2048 * 0.2, calls: 2048, maxParallelRequests: 16, capacity: 16, ratePerSecond: 20 }
    const healthy = { busySeconds: 2048 * 0.2, calls: 2048, maxParallelRequests: 16, capacity: 16 }
    assert.closeTo(endpointSeconds(limited), 102.4, 1e-9)
    assert.closeTo(endpointSeconds(healthy), 25.6, 1e-9)
    assert.closeTo(
      idealSeconds({ endpoints: [healthy, limited], criticalPathCalls: 1, maxLatencySeconds: 0.3 }),
      102.4,
      1e-9
    )
    // The bucket's one-second burst goes out at t = 0.
    assert.closeTo(endpointSeconds({ ...limited, rateBurst: 20 }), 101.4, 1e-9)
  })

  it("list scheduling and the column-by-column baseline", () => {
    assert.strictEqual(listScheduleMakespan([3, 3, 2, 2, 2], 2), 7)
    assert.strictEqual(listScheduleMakespan([1, 2, 3], 16), 3)
    assert.strictEqual(columnByColumnSeconds([[1, 2, 3], [0.5, 4]], 16), 7)
  })
})

describe("drawn latency replay", () => {
  it.effect("replays the mock's seeded draws: deterministic, inside the latency range", () =>
    Effect.gen(function*() {
      const options = { ...defaultMockOptions, latencyMs: { min: 70, max: 210 } }
      const a = yield* replayDrawnLatency(options, 1000)
      const b = yield* replayDrawnLatency(options, 1000)
      assert.deepStrictEqual(a, b)
      assert.isAtLeast(a.meanSeconds, 0.07)
      assert.isAtMost(a.maxSeconds, 0.21)
      assert.closeTo(a.meanSeconds, 0.14, 0.01)
      const none = yield* replayDrawnLatency(options, 0)
      assert.strictEqual(none.busySeconds, 0)
    }).pipe(Effect.provide(NodeServices.layer)))
})

describe("rounds", () => {
  it("the median round is the middle ratio (the lower middle for an even count), ratios stay in run order", () => {
    const rounds: ReadonlyArray<{ id: string; r: number }> = [{ id: "a", r: 1.06 }, { id: "b", r: 1.02 }, {
      id: "c",
      r: 1.04
    }]
    const { median, ratios } = medianRound([rounds[0]!, rounds[1]!, rounds[2]!], (x) => x.r)
    assert.strictEqual(median.id, "c")
    assert.deepStrictEqual(ratios, [1.06, 1.02, 1.04])
    assert.strictEqual(medianRound([rounds[0]!, rounds[1]!], (x) => x.r).median.id, "b")
    assert.strictEqual(medianRound([rounds[0]!], (x) => x.r).median.id, "a")
  })

  it("multi-round results carry every round's ratio, the spread and the IQR; a single round adds nothing", () => {
    assert.deepStrictEqual(roundsExtra([1.05]), {})
    assert.deepStrictEqual(roundsExtra([1.05, 1.02, 1.04]), {
      rounds: 3,
      roundRatios: [1.05, 1.02, 1.04],
      ratioSpread: 0.03,
      ratioIqr: 0.015
    })
    // five rounds: Q1 and Q3 are the 2nd and 4th smallest, an outlier round moves the spread, not the IQR
    assert.strictEqual(roundsExtra([1.033, 1.031, 1.040, 1.032, 1.034])["ratioIqr"], 0.002)
    assert.strictEqual(roundsExtra([1.033, 1.031, 1.040, 1.032, 1.034])["ratioSpread"], 0.009)
  })

  it("quantiles interpolate between the closest ranks", () => {
    assert.strictEqual(quantile([4, 1, 3, 2], 0), 1)
    assert.strictEqual(quantile([4, 1, 3, 2], 1), 4)
    assert.strictEqual(quantile([4, 1, 3, 2], 0.5), 2.5)
    assert.strictEqual(quantile([4, 1, 3, 2], 0.25), 1.75)
    assert.strictEqual(quantile([7], 0.75), 7)
  })
})

describe("peers run order", () => {
  const label = (runs: ReturnType<typeof peerRunOrder>) =>
    runs.map((r) => `${r.workload === 0 ? "P" : "H"}:${r.variant}`)

  it("alternates the variant order from one workload and round to the next", () => {
    const forward = ["sluice", "p-limit", "p-queue", "bottleneck"]
    const backward = [...forward].reverse()
    assert.deepStrictEqual(label(peerRunOrder(2)), [
      ...forward.map((v) => `P:${v}`),
      ...backward.map((v) => `H:${v}`),
      ...backward.map((v) => `P:${v}`),
      ...forward.map((v) => `H:${v}`)
    ])
  })

  it("runs pressure-725 every round and hidden-capacity at most 3 rounds", () => {
    const runs = peerRunOrder(5)
    for (const variant of ["sluice", "p-limit", "p-queue", "bottleneck"]) {
      assert.strictEqual(runs.filter((r) => r.workload === 0 && r.variant === variant).length, 5, variant)
      assert.strictEqual(runs.filter((r) => r.workload === 1 && r.variant === variant).length, 3, variant)
    }
    // the last two rounds are pressure-725 only, still alternating
    assert.deepStrictEqual(label(runs.slice(-8)), [
      "P:bottleneck",
      "P:p-queue",
      "P:p-limit",
      "P:sluice",
      "P:sluice",
      "P:p-limit",
      "P:p-queue",
      "P:bottleneck"
    ])
  })
})
