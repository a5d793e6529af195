import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import type { PeersReport, PeerVariantResult, TimelinePoint } from "../src/BenchResult.js"
import { rateLimitedMarks } from "../src/pipelineRun.js"
import { peerBars, peersSpec, renderSvg, scenarioPlot, thinTimeline, timelineSpec } from "../src/plots.js"

/** Checks that every tag is closed in order and attributes are quoted: enough to call the SVG well-formed. */
const assertWellFormedXml = (xml: string) => {
  const body = xml.replace(/^<\?xml[^>]*\?>\s*/, "")
  const stack: Array<string> = []
  for (const match of body.matchAll(/<(\/?)([a-zA-Z][\w:-]*)([^>]*?)(\/?)>/g)) {
    const [, closing, name, attributes, selfClosing] = match
    assert.isTrue(
      /^(\s+[\w:-]+="[^"<&]*(&(amp|lt|gt|quot|apos);[^"<&]*)*")*\s*$/.test(attributes!),
      `attributes of <${name}>: ${attributes}`
    )
    if (closing === "/") assert.strictEqual(stack.pop(), name)
    else if (selfClosing !== "/") stack.push(name!)
  }
  assert.deepStrictEqual(stack, [])
  const text = body.replace(/<[^>]*>/g, "")
  assert.isFalse(/&(?!(amp|lt|gt|quot|apos);)/.test(text), "bare & in text")
  assert.isFalse(text.includes("<") || text.includes(">"))
}

/** The tick labels Vega shows (it hides overlapping ones with opacity 0), one list per axis. */
const visibleTickLabels = (svg: string): Array<Array<string>> =>
  [...svg.matchAll(/<g class="mark-text role-axis-label"[^>]*>(.*?)<\/g>/g)].map((axis) =>
    [...axis[1]!.matchAll(/<text [^>]*opacity="1"[^>]*>([^<]*)<\/text>/g)].map((label) => label[1]!)
  )

/** Every legend starts inside the picture, with room for its longest label (≈ 7 px a character at 11 px). */
const assertLegendsInside = (svg: string) => {
  const width = Number(/<svg [^>]*width="([\d.]+)"/.exec(svg)![1])
  const rootX = Number(/<g fill="none" stroke-miterlimit="4" transform="translate\(([\d.]+),/.exec(svg)![1])
  const legends = [
    ...svg.matchAll(
      /aria-label="Symbol legend titled '[^']*' for [^"]*?values?: ([^"]*)"><g transform="translate\(([\d.]+),/g
    )
  ]
  assert.isAbove(legends.length, 0)
  for (const [, labels, x] of legends) {
    const longest = Math.max(...labels!.split(", ").map((l) => l.length))
    assert.isAtMost(rootX + Number(x) + 20 + longest * 7, width, `legend at ${x}: ${labels}`)
  }
}

const timeline: Array<TimelinePoint> = Array.from({ length: 50 }, (_, i) => ({
  atSeconds: i * 0.1,
  rowsDone: i < 25 ? 0 : 64,
  providers: { "a&b": { inFlight: i % 7, limit: 8 }, "<p2>": { inFlight: 3, limit: i < 25 ? 16 : 12 } }
}))

const variant = (name: PeerVariantResult["name"], workload: string, roundRatios: Array<number>): PeerVariantResult => ({
  name,
  workload,
  scenario: "peers",
  rowsRequested: 128,
  rowsCompleted: 128,
  rowsDropped: 0,
  admissionTimeouts: 0,
  maxRequestWaiters: 0,
  elapsedSeconds: 5,
  idealSeconds: 4.5,
  ratioToIdeal: [...roundRatios].sort((a, b) => a - b)[Math.floor((roundRatios.length - 1) / 2)]!,
  leaks: { taskLeases: 0, requestLeases: 0, requestWaiters: 0 },
  extra: roundRatios.length > 1 ? { roundRatios } : {}
})

const report: PeersReport = {
  scenario: "peers",
  variants: [
    variant("sluice", "pressure-725", [1.031, 1.029, 1.034, 1.03, 1.05]),
    variant("p-limit", "pressure-725", [1.08, 1.07, 1.09, 1.075, 1.085]),
    variant("sluice", "hidden-capacity", [1.2]),
    variant("p-queue", "hidden-capacity", [10.5, 10.1, 10.9])
  ]
}

describe("plots: timeline", () => {
  const spec = timelineSpec("pnpm bench x", timeline, {
    capacity: { label: "real capacity 24", requests: 24 },
    rateLimited: [{ atSeconds: 1, provider: "a&b", count: 3 }]
  }) as unknown as { vconcat: [{ layer: Array<any> }, any] }

  it("draws in flight and the adaptive limit per provider, the real capacity, the 429s, and rows in rows", () => {
    const [requests, rows] = spec.vconcat
    const series = requests.layer[0].data.values as Array<
      { t: number; provider: string; series: string; requests: number }
    >
    assert.strictEqual(series.length, 50 * 2 * 2)
    assert.deepInclude(series, { t: 4.9, provider: "<p2>", series: "adaptive limit", requests: 12 })
    assert.deepInclude(series, { t: 0.5, provider: "a&b", series: "in flight", requests: 5 })
    assert.deepStrictEqual(requests.layer[1].data.values, [{ label: "real capacity 24", requests: 24 }])
    assert.deepStrictEqual(requests.layer[2].data.values, [{ t: 1, provider: "a&b", answers: 3, y: 0 }])
    assert.deepStrictEqual(rows.data.values.at(-1), { t: 4.9, rows: 64 })
    assert.strictEqual(rows.encoding.y.title, "rows completed")
    // without marks: only the series
    const plain = timelineSpec("x", timeline) as unknown as { vconcat: [{ layer: Array<unknown> }] }
    assert.strictEqual(plain.vconcat[0].layer.length, 1)
  })

  it.effect("renders a well-formed SVG with titled axes, readable ticks and every legend inside the picture", () =>
    Effect.gen(function*() {
      const svg = yield* renderSvg(spec as never)
      assertWellFormedXml(svg)
      for (const title of ["time (s)", "requests", "rows completed", "provider", "429 answers", "real capacity 24"]) {
        assert.include(svg, `>${title}<`)
      }
      assert.include(svg, ">a&amp;b<")
      assert.include(svg, ">&lt;p2&gt;<")
      const axes = visibleTickLabels(svg)
      assert.strictEqual(axes.length, 4)
      // more than 0, ½ and max on every axis
      for (const labels of axes) assert.isAtLeast(labels.length, 4, labels.join(" "))
      assertLegendsInside(svg)
    }))

  it.effect("an empty timeline still renders", () =>
    Effect.map(renderSvg(timelineSpec("empty", [])), (svg) => assertWellFormedXml(svg)))

  it("thins long timelines, keeping the last point", () => {
    const long = Array.from({ length: 5000 }, (_, i) => ({ atSeconds: i, rowsDone: i, providers: {} }))
    const thin = thinTimeline(long, 100)
    assert.isAtMost(thin.length, 101)
    assert.strictEqual(thin[thin.length - 1]!.atSeconds, 4999)
  })

  it("marks a provider's 429s where its cumulative count grew between two polls", () => {
    const polls = [
      { atMillis: 900, provider: "p", rejected429: 0 },
      { atMillis: 1100, provider: "p", rejected429: 4 },
      { atMillis: 1100, provider: "q", rejected429: 1 },
      { atMillis: 1200, provider: "p", rejected429: 4 },
      { atMillis: 1300, provider: "p", rejected429: 6 }
    ]
    assert.deepStrictEqual(rateLimitedMarks(polls, 1000), [
      { atSeconds: 0.1, provider: "p", count: 4 },
      { atSeconds: 0.1, provider: "q", count: 1 },
      { atSeconds: 0.3, provider: "p", count: 2 }
    ])
  })
})

describe("plots: peers", () => {
  it("one bar per client and workload at its median round, whiskers over the rounds' interquartile range", () => {
    assert.deepStrictEqual(peerBars(report), [
      { workload: "pressure-725", client: "sluice", ratio: 1.031, q1: 1.03, q3: 1.034, rounds: 5 },
      { workload: "pressure-725", client: "p-limit", ratio: 1.08, q1: 1.075, q3: 1.085, rounds: 5 },
      { workload: "hidden-capacity", client: "sluice", ratio: 1.2, q1: 1.2, q3: 1.2, rounds: 1 },
      { workload: "hidden-capacity", client: "p-queue", ratio: 10.5, q1: 10.3, q3: 10.7, rounds: 3 }
    ])
  })

  it.effect("renders both workloads side by side, each on its own × ideal scale, with the legend inside", () =>
    Effect.gen(function*() {
      const svg = yield* renderSvg(peersSpec("pnpm bench peers", report))
      assertWellFormedXml(svg)
      for (const text of ["pressure-725", "hidden-capacity", "× ideal", "client", "sluice", "p-limit", "p-queue"]) {
        assert.include(svg, `>${text}<`)
      }
      assert.include(svg, ">10.500<")
      // a client axis and a × ideal axis per workload
      assert.strictEqual(visibleTickLabels(svg).length, 4)
      assertLegendsInside(svg)
    }))

  it("scenarioPlot draws peers as bars and other scenarios as timelines", () => {
    const bars = scenarioPlot("peers", { result: report, table: "", timeline }) as { facet?: unknown }
    assert.isDefined(bars.facet)
    const result = { ...report.variants[0]!, scenario: "pressure-725" }
    const line = scenarioPlot("pressure-725", { result, table: "", timeline }) as { vconcat?: unknown }
    assert.isDefined(line.vconcat)
    assert.isUndefined(scenarioPlot("pressure-725", { result, table: "", timeline: [] }))
  })
})
