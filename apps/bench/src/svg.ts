import type { TimelinePoint } from "./BenchResult.js"

/**
 * A small hand-made SVG writer (no chart library: two line panels are all the benchmark needs). Top panel:
 * requests in flight (solid) and the adaptive limit (dashed) per provider over time; bottom panel: rows
 * completed over time.
 */

const palette = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf"]

export const escapeXml = (text: string): string =>
  text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;").replace(
    /'/g,
    "&apos;"
  )

const fmt = (x: number): string => (Number.isFinite(x) ? (Math.round(x * 10) / 10).toString() : "0")

interface Panel {
  readonly top: number
  readonly height: number
  readonly yMax: number
  readonly label: string
}

const width = 800
const left = 60
const right = 160
const plotWidth = width - left - right

/** Ticks at 0, ½ and the maximum, with labels. */
const axes = (panel: Panel, xMax: number): string => {
  const bottom = panel.top + panel.height
  const parts = [
    `<line x1="${left}" y1="${bottom}" x2="${left + plotWidth}" y2="${bottom}" stroke="#444"/>`,
    `<line x1="${left}" y1="${panel.top}" x2="${left}" y2="${bottom}" stroke="#444"/>`,
    `<text x="${left - 6}" y="${panel.top + 4}" text-anchor="end" font-size="10">${fmt(panel.yMax)}</text>`,
    `<text x="${left - 6}" y="${bottom + 4}" text-anchor="end" font-size="10">0</text>`,
    `<text x="${left}" y="${panel.top - 6}" font-size="11">${escapeXml(panel.label)}</text>`,
    `<text x="${left + plotWidth}" y="${bottom + 14}" text-anchor="end" font-size="10">${fmt(xMax)} s</text>`,
    `<text x="${left}" y="${bottom + 14}" font-size="10">0 s</text>`
  ]
  return parts.join("")
}

const polyline = (
  points: ReadonlyArray<readonly [number, number]>,
  panel: Panel,
  xMax: number,
  color: string,
  dashed: boolean
): string => {
  if (points.length === 0) return ""
  const xs = (x: number) => left + (xMax > 0 ? (x / xMax) * plotWidth : 0)
  const ys = (y: number) => panel.top + panel.height - (panel.yMax > 0 ? (y / panel.yMax) * panel.height : 0)
  const coords = points.map(([x, y]) => `${fmt(xs(x))},${fmt(ys(y))}`).join(" ")
  return `<polyline fill="none" stroke="${color}" stroke-width="1.5"${
    dashed ? ` stroke-dasharray="5,3"` : ""
  } points="${coords}"/>`
}

export const timelineSvg = (title: string, timeline: ReadonlyArray<TimelinePoint>): string => {
  const providers = [...new Set(timeline.flatMap((p) => Object.keys(p.providers)))].sort()
  const xMax = Math.max(0.001, ...timeline.map((p) => p.atSeconds))
  const yMaxRequests = Math.max(
    1,
    ...timeline.flatMap((p) => Object.values(p.providers).flatMap((v) => [v.inFlight, v.limit]))
  )
  const yMaxRows = Math.max(1, ...timeline.map((p) => p.rowsDone))
  const requestsPanel: Panel = {
    top: 50,
    height: 220,
    yMax: yMaxRequests,
    label: "requests in flight (solid) and adaptive limit (dashed)"
  }
  const rowsPanel: Panel = { top: 330, height: 160, yMax: yMaxRows, label: "rows completed" }
  const lines: Array<string> = []
  const legend: Array<string> = []
  providers.forEach((name, i) => {
    const color = palette[i % palette.length]!
    const series = timeline.flatMap((p) => {
      const v = p.providers[name]
      return v === undefined ? [] : [[p.atSeconds, v] as const]
    })
    lines.push(polyline(series.map(([t, v]) => [t, v.inFlight] as const), requestsPanel, xMax, color, false))
    lines.push(polyline(series.map(([t, v]) => [t, v.limit] as const), requestsPanel, xMax, color, true))
    legend.push(
      `<rect x="${left + plotWidth + 14}" y="${requestsPanel.top + i * 16}" width="10" height="10" fill="${color}"/>` +
        `<text x="${left + plotWidth + 30}" y="${requestsPanel.top + i * 16 + 9}" font-size="11">${
          escapeXml(name)
        }</text>`
    )
  })
  lines.push(polyline(timeline.map((p) => [p.atSeconds, p.rowsDone] as const), rowsPanel, xMax, "#333", false))
  const height = rowsPanel.top + rowsPanel.height + 30
  return [
    `<?xml version="1.0" encoding="UTF-8"?>`,
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif">`,
    `<rect width="${width}" height="${height}" fill="white"/>`,
    `<text x="${left}" y="24" font-size="14" font-weight="bold">${escapeXml(title)}</text>`,
    axes(requestsPanel, xMax),
    axes(rowsPanel, xMax),
    ...lines,
    ...legend,
    `</svg>`,
    ""
  ].join("\n")
}

/** Keeps at most `max` points (evenly spaced, always the last), so long runs stay small files. */
export const thinTimeline = (timeline: ReadonlyArray<TimelinePoint>, max = 600): ReadonlyArray<TimelinePoint> => {
  if (timeline.length <= max) return timeline
  const step = timeline.length / max
  const kept: Array<TimelinePoint> = []
  for (let i = 0; i < max; i++) kept.push(timeline[Math.floor(i * step)]!)
  kept.push(timeline[timeline.length - 1]!)
  return kept
}
