import { NodeServices } from "@effect/platform-node"
import { Cause, Data, Effect, Exit } from "effect"
import { type ProbeResult } from "../pipeline/checkModels.js"
import { checkEachModel } from "../commands/check.js"
import { loadConfig, resolveConfig } from "../config/loadConfig.js"
import { runPipeline } from "../pipeline/runPipeline.js"
import type { RunSummary } from "../pipeline/summary.js"
import type { TokenSummary } from "../pipeline/tokenSummary.js"
import { type ProviderLoad, providerLoads, rowsDone } from "../progress/ProgressState.js"

/**
 * The config to generate from: a path to a YAML or JSON config file, or the config itself as a plain object (what
 * such a file parses to). Either way it is checked exactly as `sluice generate` checks a file.
 */
export type GenerateConfig = string | Readonly<Record<string, unknown>>

/** What to do with an output directory that already holds a dataset. */
export type GenerateMode =
  /** Refuse a directory that holds a dataset (the default). */
  | "fresh"
  /** Replace the dataset (only files Sluice wrote are removed): `--overwrite`. */
  | "overwrite"
  /** Continue it: verify the row groups already written and generate the rest: `--resume`. */
  | "resume"

/** The summary `generate` returns; the same object as the output directory's `summary.json`. */
export type GenerateSummary = RunSummary & { readonly tokens: TokenSummary }

/** What `generate` reports while it runs, in this order: `model_checked`*, `run_started`, `progress`*, `run_finished`. */
export type GenerateEvent =
  /** One model answered (or failed) the check that runs before the dataset is generated. */
  | { readonly _tag: "model_checked"; readonly result: ProbeResult }
  /** The output directory is open and locked, the models answered: rows are being generated. */
  | { readonly _tag: "run_started"; readonly out: string; readonly rowsRequested: number }
  /** Sampled every `progressEveryMs` while rows are generated. */
  | {
    readonly _tag: "progress"
    readonly atMillis: number
    readonly rowsTotal: number
    /** Rows done so far, fractional (cells done ÷ cells per row); resumed rows count as done. */
    readonly rowsDone: number
    /** Rows of row groups already on disk (and dropped rows of those groups). */
    readonly rowsCheckpointed: number
    readonly rowsDropped: number
    readonly cellsDone: number
    readonly cellsTotal: number
    /** In-flight requests against the adaptive limit, per provider. */
    readonly providers: ReadonlyArray<ProviderLoad>
  }
  /** The run ended (also when it was interrupted) and `summary.json` is written. */
  | { readonly _tag: "run_finished"; readonly summary: GenerateSummary }

export interface GenerateOptions {
  /** The output directory (created if missing); see the README for what Sluice writes there. */
  readonly out: string
  /** Overrides the config's `run.rows`. */
  readonly rows?: number | undefined
  /** Default `"fresh"`. */
  readonly mode?: GenerateMode | undefined
  /** With `mode: "resume"`: also regenerate the rows earlier runs dropped (`--retry-dropped`). */
  readonly retryDropped?: boolean | undefined
  /** Send each model one tiny request before the run (default true, as `sluice generate`; `--no-check`). */
  readonly check?: boolean | undefined
  /** Receives every `GenerateEvent`; called synchronously, so keep it cheap. */
  readonly onEvent?: ((event: GenerateEvent) => void) | undefined
  /** How often `progress` events are sampled; default 250 ms. */
  readonly progressEveryMs?: number | undefined
}

/** An option of `generate` that cannot be used; `field` names it. */
export class GenerateOptionsError extends Data.TaggedError("GenerateOptionsError")<{
  readonly field: string
  readonly message: string
}> {}

const positiveInteger = (value: number | undefined) => value === undefined || (Number.isSafeInteger(value) && value > 0)

const checkOptions = (options: GenerateOptions) => {
  const problem = (field: string, message: string) => Effect.fail(new GenerateOptionsError({ field, message }))
  if (typeof options.out !== "string" || options.out === "") {
    return problem("out", "the output directory is required: pass a path, e.g. { out: \"out/reviews\" }")
  }
  if (!positiveInteger(options.rows)) {
    return problem("rows", `expected a positive integer, got ${String(options.rows)}`)
  }
  if (options.mode !== undefined && !["fresh", "overwrite", "resume"].includes(options.mode)) {
    return problem("mode", `expected "fresh", "overwrite" or "resume", got ${JSON.stringify(options.mode)}`)
  }
  if (options.retryDropped === true && options.mode !== "resume") {
    return problem("retryDropped", "regenerating dropped rows continues a dataset: use it with mode: \"resume\"")
  }
  if (options.progressEveryMs !== undefined && !positiveInteger(options.progressEveryMs)) {
    return problem("progressEveryMs", `expected a positive integer, got ${String(options.progressEveryMs)}`)
  }
  return Effect.void
}

/**
 * Generates a dataset, as `sluice generate` does: checks the config and the models, opens (and locks) the output
 * directory, runs the pipeline, and returns the summary it wrote to `summary.json`. A run that drops rows or stops
 * early still succeeds with its summary (`status` says how it ended); the error channel carries what prevented a
 * run: a `ConfigError` (every problem, with its path), a `GenerateOptionsError`, an output directory Sluice may not
 * use, a model that failed the check. Interrupting the effect ends the run as Ctrl-C does: the row groups already
 * complete are published and the summary says `interrupted`.
 */
export const generate = Effect.fnUntraced(function*(config: GenerateConfig, options: GenerateOptions) {
  yield* checkOptions(options)
  const overrides = { rows: options.rows }
  const loaded = typeof config === "string"
    ? yield* loadConfig(config, overrides)
    : yield* resolveConfig("<config object>", config, overrides)
  const emit = (event: GenerateEvent) => Effect.sync(() => options.onEvent?.(event))
  const mode = options.mode ?? "fresh"
  const check = options.check === false ? Effect.void : Effect.asVoid(
    checkEachModel(loaded, (result) => emit({ _tag: "model_checked", result }))
  )
  const { summary } = yield* runPipeline(loaded, {
    out: options.out,
    resume: mode === "resume",
    overwrite: mode === "overwrite",
    retryDropped: options.retryDropped,
    progress: "off",
    check,
    beforeRun: emit({ _tag: "run_started", out: options.out, rowsRequested: loaded.config.run.rows }),
    sampleEveryMs: options.progressEveryMs ?? 250,
    onSample: options.onEvent === undefined ? undefined : (sample) =>
      options.onEvent?.({
        _tag: "progress",
        atMillis: sample.atMillis,
        rowsTotal: sample.progress.rowsTotal,
        rowsDone: rowsDone(sample.progress),
        rowsCheckpointed: sample.progress.rowsCheckpointed,
        rowsDropped: sample.progress.rowsDropped,
        cellsDone: sample.progress.cellsDone,
        cellsTotal: sample.progress.cellsTotal,
        providers: providerLoads(sample.pressures)
      }),
    onInterrupted: (summary) => emit({ _tag: "run_finished", summary })
  }).pipe(Effect.scoped)
  yield* emit({ _tag: "run_finished", summary })
  return summary
}, Effect.provide(NodeServices.layer))

/**
 * Everything that can prevent a run, each a tagged error with a `message`: `ConfigError`, `GenerateOptionsError`,
 * `OutputError` (an output directory Sluice may not use, or a lock held by another run), `ModelCheckFailedError`,
 * and the configuration errors of the packages underneath.
 */
export type GenerateError = Effect.Error<ReturnType<typeof generate>>

/** Options of `generatePromise`: those of `generate`, and a signal that stops the run as Ctrl-C does. */
export interface GeneratePromiseOptions extends GenerateOptions {
  /** Aborting it interrupts the run: completed row groups are published, the summary says `interrupted`. */
  readonly signal?: AbortSignal | undefined
}

/**
 * `generate` for code that does not use Effect: resolves with the summary (also of a run stopped by `signal`, whose
 * `status` is `interrupted`), rejects with the same typed errors (each has a `_tag` and a `message`).
 */
export const generatePromise = (config: GenerateConfig, options: GeneratePromiseOptions): Promise<GenerateSummary> => {
  // An interrupted run reports its summary through `run_finished` before the effect ends as interrupted.
  let finished: GenerateSummary | undefined
  const onEvent = (event: GenerateEvent) => {
    if (event._tag === "run_finished") finished = event.summary
    options.onEvent?.(event)
  }
  const { signal, ...rest } = options
  return Effect.runPromiseExit(generate(config, { ...rest, onEvent }), signal === undefined ? undefined : { signal })
    .then((exit) => {
      if (Exit.isSuccess(exit)) return exit.value
      if (Cause.hasInterruptsOnly(exit.cause) && finished !== undefined) return finished
      throw Cause.squash(exit.cause)
    })
}
