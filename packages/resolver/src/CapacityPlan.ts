/**
 * Where a capacity value came from: a built-in default, the run's configuration, the generators'
 * scheduling metadata (model caps), or a value observed while running.
 *
 * @since 0.1.0
 */
export type CapacitySource = "default" | "config" | "model_metadata" | "runtime"

/**
 * One value of the capacity plan: `submission`, `llm_wait`, `request:openai/gpt-4o`,
 * `group:<label>.weight`, `group:<label>.admittedLimit`…
 *
 * @since 0.1.0
 */
export interface CapacityPlanEntry {
  readonly name: string
  readonly value: number
  readonly source: CapacitySource
  readonly detail?: string
}

/**
 * A note about one generator's scheduling: a fallback that was used, a clamped cap, an alias set on
 * several endpoints.
 *
 * @since 0.1.0
 */
export interface CapacityDiagnostic {
  readonly generator: string
  readonly code: string
  readonly message: string
}

/**
 * Every capacity value of a run with its source, and every diagnostic, so that `sluice validate`
 * can show why each limit is what it is.
 *
 * @since 0.1.0
 */
export interface CapacityPlan {
  readonly entries: ReadonlyArray<CapacityPlanEntry>
  readonly diagnostics: ReadonlyArray<CapacityDiagnostic>
}

/**
 * Records a value observed at runtime (e.g. the live request limit the scheduler follows). The
 * planned entry of the same name is kept, so the plan shows both; a previous runtime value of that
 * name is replaced in place (the latest observation wins). A new runtime entry goes right after the
 * last entry of the same name, or at the end.
 *
 * @since 0.1.0
 */
export const recordRuntimeCapacity = (plan: CapacityPlan, entry: Omit<CapacityPlanEntry, "source">): CapacityPlan => {
  const runtime: CapacityPlanEntry = { ...entry, source: "runtime" }
  const previous = plan.entries.findIndex((e) => e.name === entry.name && e.source === "runtime")
  if (previous >= 0) {
    return { ...plan, entries: plan.entries.map((e, i) => (i === previous ? runtime : e)) }
  }
  let at = plan.entries.length
  plan.entries.forEach((e, i) => {
    if (e.name === entry.name) at = i + 1
  })
  return { ...plan, entries: [...plan.entries.slice(0, at), runtime, ...plan.entries.slice(at)] }
}

const pad = (cells: ReadonlyArray<string>, widths: ReadonlyArray<number>): string =>
  cells.map((cell, i) => cell.padEnd(widths[i] ?? 0)).join("  ").trimEnd()

/**
 * The plan as a plain-text table (name, value, source, detail) followed by its diagnostics, one
 * per line (`- generator [code] message`), or `diagnostics: none`.
 *
 * @since 0.1.0
 */
export const formatCapacityPlan = (plan: CapacityPlan): string => {
  const header = ["resource", "value", "source", "detail"]
  const rows = plan.entries.map((e) => [e.name, String(e.value), e.source, e.detail ?? ""])
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)))
  const lines = [pad(header, widths), pad(widths.map((w) => "-".repeat(w)), widths), ...rows.map((r) => pad(r, widths))]
  if (plan.diagnostics.length === 0) {
    lines.push("", "diagnostics: none")
  } else {
    lines.push("", "diagnostics:", ...plan.diagnostics.map((d) => `- ${d.generator} [${d.code}] ${d.message}`))
  }
  return lines.join("\n")
}
