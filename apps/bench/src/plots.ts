import { Effect } from "effect"
import { parse, View } from "vega"
import { compile, type TopLevelSpec } from "vega-lite"
import type { PeersReport, TimelineMarks, TimelinePoint } from "./BenchResult.js"
import { BenchError } from "./mockHost.js"
import { quantile } from "./rounds.js"
import type { ScenarioOutput } from "./Scenario.js"

/**
 * The benchmark's SVG plots, as Vega-Lite specs rendered to SVG in Node (no browser): the specs are data, so tests
 * check what is drawn, and Vega lays out ticks, axis titles and legends.
 *
 * - A timeline: requests in flight (solid) and the adaptive limit (dashed) per provider over time, optionally the
 *   provider's real capacity (a rule) and the 429s it answered (marks on the time axis); below it, rows completed
 *   over time, counted in whole rows.
 * - `peers`: each client's median × ideal per workload as bars, whiskers from its first to third quartile over
 *   the rounds, and the ideal (1 ×) as a rule.
 */

const width = 640

/** Keeps at most `max` points (evenly spaced, always the last), so long runs stay small files. */
export const thinTimeline = (timeline: ReadonlyArray<TimelinePoint>, max = 600): ReadonlyArray<TimelinePoint> => {
  if (timeline.length <= max) return timeline
  const step = timeline.length / max
  const kept: Array<TimelinePoint> = []
  for (let i = 0; i < max; i++) kept.push(timeline[Math.floor(i * step)]!)
  kept.push(timeline[timeline.length - 1]!)
  return kept
}

const inFlightLabel = "in flight"
const limitLabel = "adaptive limit"

/** The timeline plot of a scenario's run. */
export const timelineSpec = (
  title: string,
  timeline: ReadonlyArray<TimelinePoint>,
  marks: TimelineMarks = {}
): TopLevelSpec => {
  const points = thinTimeline(timeline)
  const time = marks.virtualTime === true ? "virtual time (s)" : "time (s)"
  const requests = points.flatMap((p) =>
    Object.entries(p.providers).flatMap(([provider, v]) => [
      { t: p.atSeconds, provider, series: inFlightLabel, requests: v.inFlight },
      { t: p.atSeconds, provider, series: limitLabel, requests: v.limit }
    ])
  )
  const xMax = Math.max(0.001, ...points.map((p) => p.atSeconds))
  const x = { field: "t", type: "quantitative" as const, title: time, scale: { domain: [0, xMax], nice: false } }
  const requestLayers: Array<Record<string, unknown>> = [{
    data: { values: requests },
    mark: { type: "line", interpolate: "step-after", strokeWidth: 1.5 },
    encoding: {
      x,
      y: { field: "requests", type: "quantitative", title: "requests" },
      color: { field: "provider", type: "nominal", title: "provider" },
      strokeDash: {
        field: "series",
        type: "nominal",
        title: "line",
        scale: { domain: [inFlightLabel, limitLabel], range: [[1, 0], [5, 3]] }
      }
    }
  }]
  if (marks.capacity !== undefined) {
    requestLayers.push({
      data: { values: [marks.capacity] },
      layer: [
        {
          mark: { type: "rule", color: "#555", strokeWidth: 1 },
          encoding: { y: { field: "requests", type: "quantitative" } }
        },
        {
          mark: { type: "text", align: "right", baseline: "bottom", dy: -2, x: "width", color: "#555" },
          encoding: { y: { field: "requests", type: "quantitative" }, text: { field: "label" } }
        }
      ]
    })
  }
  const rateLimited = marks.rateLimited ?? []
  if (rateLimited.length > 0) {
    requestLayers.push({
      data: { values: rateLimited.map((m) => ({ t: m.atSeconds, provider: m.provider, answers: m.count, y: 0 })) },
      mark: { type: "point", shape: "triangle-up", filled: true, color: "#d62728", opacity: 0.8 },
      encoding: {
        x,
        y: { field: "y", type: "quantitative" },
        size: {
          field: "answers",
          type: "quantitative",
          title: "429 answers",
          scale: { range: [30, 200], zero: false },
          legend: { symbolFillColor: "#d62728", symbolType: "triangle-up", format: "d", tickMinStep: 1 }
        }
      }
    })
  }
  const rows = points.map((p) => ({ t: p.atSeconds, rows: p.rowsDone }))
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title,
    config: { font: "sans-serif", axis: { labelFontSize: 11, titleFontSize: 12 }, legend: { labelLimit: 260 } },
    vconcat: [
      { width, height: 240, layer: requestLayers } as never,
      {
        width,
        height: 150,
        data: { values: rows },
        mark: { type: "line", interpolate: "step-after", color: "#333" },
        encoding: {
          x,
          y: { field: "rows", type: "quantitative", title: "rows completed", axis: { tickMinStep: 1, format: "d" } }
        }
      }
    ],
    resolve: { scale: { color: "independent" } }
  }
}

export interface PeerBar {
  readonly workload: string
  readonly client: string
  /** The median round's × ideal (what the table reports). */
  readonly ratio: number
  readonly q1: number
  readonly q3: number
  readonly rounds: number
}

/** Each variant's median × ideal and the interquartile range of its rounds. */
export const peerBars = (report: PeersReport): ReadonlyArray<PeerBar> =>
  report.variants.map((v) => {
    const rounds = (v.extra["roundRatios"] as ReadonlyArray<number> | undefined) ?? [v.ratioToIdeal]
    return {
      workload: v.workload,
      client: v.name,
      ratio: v.ratioToIdeal,
      q1: Math.round(quantile(rounds, 0.25) * 1000) / 1000,
      q3: Math.round(quantile(rounds, 0.75) * 1000) / 1000,
      rounds: rounds.length
    }
  })

/** `peers`: one panel per workload, one bar per client, whiskers over the rounds' IQR, the ideal as a rule. */
export const peersSpec = (title: string, report: PeersReport): TopLevelSpec => {
  const bars = peerBars(report)
  const clients = [...new Set(bars.map((b) => b.client))]
  const xClient = { field: "client", type: "nominal", title: null, sort: clients, axis: { labelAngle: 0 } } as const
  const y = { field: "ratio", type: "quantitative", title: "× ideal", scale: { zero: true } } as const
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title: {
      text: title,
      subtitle: "bars: each client's median round; whiskers: first to third quartile of its rounds; dashed: the ideal"
    },
    config: { font: "sans-serif", axis: { labelFontSize: 11, titleFontSize: 12 } },
    data: { values: bars.map((b) => ({ ...b, ideal: 1 })) },
    facet: {
      column: { field: "workload", type: "nominal", title: null, sort: [...new Set(bars.map((b) => b.workload))] }
    },
    spec: {
      width: 260,
      height: 260,
      layer: [
        {
          mark: { type: "bar", width: { band: 0.7 } },
          encoding: {
            x: xClient,
            y,
            color: { field: "client", type: "nominal", title: "client", sort: clients }
          }
        },
        {
          mark: { type: "errorbar", ticks: { size: 12 }, color: "#222", thickness: 1.5 },
          encoding: { x: xClient, y: { field: "q1", type: "quantitative", title: "× ideal" }, y2: { field: "q3" } }
        },
        {
          mark: { type: "text", dy: -10, fontSize: 10 },
          encoding: { x: xClient, y: { field: "q3", type: "quantitative" }, text: { field: "ratio", format: ".3f" } }
        },
        {
          mark: { type: "rule", strokeDash: [4, 3], color: "#888" },
          encoding: { y: { field: "ideal", type: "quantitative", aggregate: "max" } }
        }
      ]
    } as never,
    resolve: { scale: { y: "independent" } }
  }
}

/** What `--out DIR` draws for a scenario: `peers` its bar chart, any other its timeline (if it has one). */
export const scenarioPlot = (scenario: string, output: ScenarioOutput): TopLevelSpec | undefined => {
  const title = `pnpm bench ${scenario}`
  if (output.result.scenario === "peers") return peersSpec(title, output.result as PeersReport)
  return output.timeline.length === 0 ? undefined : timelineSpec(title, output.timeline, output.marks)
}

/** Renders a Vega-Lite spec to an SVG document. */
export const renderSvg = (spec: TopLevelSpec): Effect.Effect<string, BenchError> =>
  Effect.tryPromise({
    try: () => new View(parse(compile(spec).spec), { renderer: "none" }).toSVG(),
    catch: (cause) => new BenchError({ message: `cannot draw the plot: ${String(cause)}`, cause })
  })
