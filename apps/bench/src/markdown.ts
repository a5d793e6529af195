import type { BenchResult, PeersReport } from "./BenchResult.js"

const cell = (value: unknown): string =>
  typeof value === "number" ? (Number.isInteger(value) ? String(value) : value.toFixed(3)) : String(value)

export const markdownTable = (header: ReadonlyArray<string>, rows: ReadonlyArray<ReadonlyArray<unknown>>): string =>
  [
    `| ${header.join(" | ")} |`,
    `| ${header.map((_, i) => (i === 0 ? "---" : "---:")).join(" | ")} |`,
    ...rows.map((row) => `| ${row.map(cell).join(" | ")} |`)
  ].join("\n")

const leakTotal = (r: BenchResult): number => r.leaks.taskLeases + r.leaks.requestLeases + r.leaks.requestWaiters

const extraText = (extra: Readonly<Record<string, unknown>>): string =>
  Object.entries(extra)
    .filter(([, v]) => typeof v === "number" || typeof v === "string" || typeof v === "boolean")
    .map(([k, v]) => `${k} ${cell(v)}`)
    .join(", ")

export const resultTable = (results: ReadonlyArray<BenchResult>): string =>
  markdownTable(
    [
      "scenario",
      "rows",
      "dropped",
      "adm. timeouts",
      "max waiters",
      "elapsed s",
      "ideal s",
      "× ideal",
      "leaks",
      "extra"
    ],
    results.map((r) => [
      r.scenario,
      `${r.rowsCompleted}/${r.rowsRequested}`,
      r.rowsDropped,
      r.admissionTimeouts,
      r.maxRequestWaiters,
      r.elapsedSeconds,
      r.idealSeconds,
      r.ratioToIdeal,
      leakTotal(r),
      extraText(r.extra)
    ])
  )

export const peersTable = (report: PeersReport): string =>
  markdownTable(
    [
      "workload",
      "variant",
      "rows",
      "dropped",
      "elapsed s",
      "ideal s",
      "× ideal",
      "429 share",
      "attempts",
      "hand-over p50 µs",
      "start-up slot-ms"
    ],
    report.variants.map((v) => [
      v.workload,
      v.name,
      `${v.rowsCompleted}/${v.rowsRequested}`,
      v.rowsDropped,
      v.elapsedSeconds,
      v.idealSeconds,
      v.ratioToIdeal,
      cell(v.extra["share429"] ?? 0),
      cell(v.extra["attempts"] ?? 0),
      cell(v.extra["handOverP50Micros"] ?? "–"),
      cell(v.extra["startupSlotMs"] ?? "–")
    ])
  )
