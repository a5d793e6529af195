import type { LoadedConfig } from "./loadConfig.js"
import type { ModelConfig, ProviderConfig } from "./schema.js"

/** What one model alias will be asked to do in a run, and how long that takes at its cap when latency is known. */
export interface ModelPlan {
  readonly model: ModelConfig
  readonly provider: ProviderConfig
  /** The columns that call it, in config order. */
  readonly columns: ReadonlyArray<string>
  /** Calls per row (one per column; retries not counted). */
  readonly callsPerRow: number
  readonly expectedCalls: number
  /** The requests it may have in flight: its `maxParallelRequests`, or less if its provider serves fewer. */
  readonly concurrency: number
  /** Mean latency of one call, when the provider's is known (the mock's). */
  readonly meanLatencySeconds?: number | undefined
  /** expectedCalls × latency / concurrency: the run cannot be faster than this. */
  readonly estimatedSeconds?: number | undefined
}

export interface RunPlan {
  readonly rows: number
  readonly models: ReadonlyArray<ModelPlan>
  /** The model whose calls take longest at its cap (if latencies are known), or with the most calls per slot. */
  readonly bottleneck?: ModelPlan | undefined
  /** Mock providers serve at most `capacity` requests at once, shared by their models. */
  readonly providerCaps: ReadonlyArray<
    { readonly provider: string; readonly capacity: number; readonly demand: number }
  >
}

const meanLatencySeconds = (provider: ProviderConfig): number | undefined =>
  provider.type === "mock" ? (provider.mock.latencyMs.min + provider.mock.latencyMs.max) / 2000 : undefined

/** The plan `sluice validate` prints: per model alias, who calls it and how much, and what bounds the run. */
export const planRun = (loaded: LoadedConfig): RunPlan => {
  const rows = loaded.config.run.rows
  const providers = new Map(loaded.config.providers.map((p) => [p.name, p]))
  const demand = new Map<string, number>()
  for (const model of loaded.config.models) {
    demand.set(model.provider, (demand.get(model.provider) ?? 0) + model.maxParallelRequests)
  }
  const models = loaded.config.models.flatMap((model): ReadonlyArray<ModelPlan> => {
    const provider = providers.get(model.provider)
    if (provider === undefined) return []
    const columns = loaded.columns.filter((c) => c.model?.alias === model.alias).map((c) => c.config.name)
    const capacity = provider.type === "mock" ? provider.mock.capacity : Infinity
    // A mock shares its capacity among its models in proportion to their caps.
    const share = capacity >= (demand.get(provider.name) ?? 0)
      ? model.maxParallelRequests
      : Math.max(1, capacity * model.maxParallelRequests / (demand.get(provider.name) ?? 1))
    const latency = meanLatencySeconds(provider)
    const expectedCalls = columns.length * rows
    return [{
      model,
      provider,
      columns,
      callsPerRow: columns.length,
      expectedCalls,
      concurrency: share,
      meanLatencySeconds: latency,
      estimatedSeconds: latency === undefined ? undefined : expectedCalls * latency / share
    }]
  })
  const used = models.filter((m) => m.expectedCalls > 0)
  const weight = (m: ModelPlan) => m.estimatedSeconds ?? m.expectedCalls / m.concurrency
  const bottleneck = used.reduce<ModelPlan | undefined>(
    (best, m) => (best === undefined || weight(m) > weight(best) ? m : best),
    undefined
  )
  const providerCaps = loaded.config.providers.flatMap((p) =>
    p.type === "mock" && (demand.get(p.name) ?? 0) > p.mock.capacity
      ? [{ provider: p.name, capacity: p.mock.capacity, demand: demand.get(p.name) ?? 0 }]
      : []
  )
  return { rows, models, bottleneck, providerCaps }
}

const seconds = (value: number): string =>
  value < 60
    ? `${value.toFixed(1)} s`
    : value < 3600
    ? `${(value / 60).toFixed(1)} min`
    : `${(value / 3600).toFixed(1)} h`

const round = (value: number) => (Number.isInteger(value) ? String(value) : value.toFixed(1))

/** The plan in words, one block per model alias, then what bounds the run. */
export const formatRunPlan = (plan: RunPlan): ReadonlyArray<string> => {
  const lines: Array<string> = [`Plan for ${plan.rows} rows:`]
  if (plan.models.length === 0) lines.push("  no models: every column is computed locally")
  for (const m of plan.models) {
    const where = m.provider.type === "mock" ? "embedded mock" : m.provider.baseUrl
    lines.push(`  ${m.model.alias} → ${m.model.model} on ${m.provider.name} (${where})`)
    lines.push(`    at most ${m.model.maxParallelRequests} requests in flight (maxParallelRequests)`)
    lines.push(
      m.columns.length === 0
        ? "    called by no column"
        : `    called by ${m.columns.join(", ")}: ${m.callsPerRow} call${m.callsPerRow === 1 ? "" : "s"} per row, ` +
          `${m.expectedCalls} calls for the run (before retries)`
    )
    if (m.estimatedSeconds !== undefined && m.meanLatencySeconds !== undefined) {
      lines.push(
        `    ~${(m.meanLatencySeconds * 1000).toFixed(0)} ms per call at ${round(m.concurrency)} in flight: ` +
          `at least ${seconds(m.estimatedSeconds)}`
      )
    }
  }
  for (const cap of plan.providerCaps) {
    lines.push(
      `  provider ${cap.provider} serves at most ${cap.capacity} requests at once, below its models' ` +
        `${cap.demand}: they share it`
    )
  }
  const b = plan.bottleneck
  if (b !== undefined) {
    lines.push(
      b.estimatedSeconds === undefined
        ? `Bound: ${b.model.alias} has the most calls per request slot (${
          round(b.expectedCalls / b.concurrency)
        }); its provider's latency sets the duration`
        : `Bound: ${b.model.alias} at its cap — estimated duration ${seconds(b.estimatedSeconds)}`
    )
  }
  return lines
}
