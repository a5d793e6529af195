/**
 * `@sluice/reference`: generate a dataset from code, as `sluice generate` does from the command line.
 *
 * - `generate(config, options)`: an Effect;
 * - `generatePromise(config, options)`: the same as a Promise, for code that does not use Effect.
 *
 * @packageDocumentation
 */
export { ConfigError, type ConfigIssue } from "../config/ConfigError.js"
export { OutputError } from "../output/OutputError.js"
export { ModelCheckFailedError, type ProbeResult } from "../pipeline/checkModels.js"
export type { RequestCounts } from "../pipeline/requestCounters.js"
export type { RunStatus, RunStop, RunSummary } from "../pipeline/summary.js"
export type { ModelTokenSummary, TokenSummary } from "../pipeline/tokenSummary.js"
export type { ProviderLoad } from "../progress/ProgressState.js"
export {
  generate,
  type GenerateConfig,
  type GenerateError,
  type GenerateEvent,
  type GenerateMode,
  type GenerateOptions,
  GenerateOptionsError,
  generatePromise,
  type GeneratePromiseOptions,
  type GenerateSummary
} from "./generate.js"
