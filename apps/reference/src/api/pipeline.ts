/**
 * `@sluice/reference/pipeline`: what `sluice generate` runs, as a small programmatic surface (the benchmark harness
 * drives it): check a config (from a file or an object), run the pipeline on it, and read its summary and its
 * live progress and request pressure while it runs.
 */
export { ConfigError, type ConfigIssue } from "../config/ConfigError.js"
export { type ConfigOverrides, type LoadedConfig, loadConfig, resolveConfig } from "../config/loadConfig.js"
export type { RequestCounts } from "../pipeline/requestCounters.js"
export { type PipelineOptions, type PipelineSample, runPipeline } from "../pipeline/runPipeline.js"
export type { RunSummary } from "../pipeline/summary.js"
export type { ModelTokenSummary, TokenSummary } from "../pipeline/tokenSummary.js"
export type { ProgressMode } from "../progress/ProgressReporter.js"
export { type ProgressState, type ProviderLoad, providerLoads } from "../progress/ProgressState.js"
export type { SeedTable } from "../seed/SeedTable.js"
