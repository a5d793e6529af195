import { Console, Data, Effect, FileSystem, Option, Path } from "effect"
import { Argument, Command, Flag } from "effect/cli"
import { loadConfig } from "../config/loadConfig.js"
import { runModelCheck } from "./check.js"
import type { ProgressMode } from "../progress/ProgressReporter.js"
import { manifestFile } from "../output/layout.js"
import { runPipeline } from "../pipeline/runPipeline.js"
import { distributedFlags, generateDistributed } from "./generateDistributed.js"
import type { RunSummary } from "../pipeline/summary.js"
import { formatTokenLine, type TokenSummary } from "../pipeline/tokenSummary.js"

/** Exit codes of `sluice generate`; each means one thing (the README lists them). */
export const exitCodes = {
  /** Every requested row is on disk. */
  completed: 0,
  /** A bug. */
  bug: 1,
  /** Usage or config error, an output directory refused, a lock held by another run. */
  usage: 2,
  /** The run finished with dropped rows. */
  dropped: 3,
  /** The run stopped early, or wrote nothing although rows were requested. */
  stopped: 4,
  /** Interrupted (SIGINT/SIGTERM). */
  interrupted: 130
} as const

/** The run ended with rows not on disk; the message says why and what to do. Carries the exit code. */
class GenerateIncompleteError extends Data.TaggedError("GenerateIncompleteError")<{
  readonly message: string
  readonly exitCode: number
}> {}

export const exitCodeOf = (summary: RunSummary): number =>
  summary.status === "interrupted"
    ? exitCodes.interrupted
    : summary.status === "stopped" || (summary.rowsRequested > 0 && summary.rowsCompleted === 0)
    ? exitCodes.stopped
    : summary.rowsDropped - (summary.rowsFiltered ?? 0) > 0
    ? exitCodes.dropped
    : exitCodes.completed

/** `internal_server 2 ("upstream overloaded"), timeout 1`: each cause kind, its count and its first message. */
export const describeDrops = (summary: RunSummary): string =>
  Object.entries(summary.dropCauses)
    .sort(([, a], [, b]) => b - a)
    .map(([kind, count]) => {
      const message = summary.dropMessages[kind]?.[0]
      return message === undefined || message === ""
        ? `${kind} ${count}`
        : `${kind} ${count} (${JSON.stringify(message)})`
    })
    .join(", ")

// Arguments as a POSIX shell reads them back: plain words as they are, anything else single-quoted.
const shellWord = (word: string): string => /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`

export interface GenerateInvocation {
  readonly config: string
  readonly out: string
  readonly rows: number | undefined
}

/** The command that continues this dataset: same config, `--out` and `--rows`. */
export const resumeCommand = (invocation: GenerateInvocation, retryDropped = false): string =>
  [
    "sluice",
    "generate",
    invocation.config,
    "--out",
    invocation.out,
    ...(invocation.rows === undefined ? [] : ["--rows", String(invocation.rows)]),
    "--resume",
    ...(retryDropped ? ["--retry-dropped"] : [])
  ].map(shellWord).join(" ")

/** The one-line reason a run did not put every row on disk, or undefined when it did. */
export const incompleteMessage = (summary: RunSummary, invocation: GenerateInvocation): string | undefined => {
  const code = exitCodeOf(summary)
  if (code === exitCodes.completed || code === exitCodes.interrupted) return undefined
  const drops = summary.rowsDropped > 0 ? `${summary.rowsDropped} rows dropped: ${describeDrops(summary)}` : ""
  const onDisk = `${summary.rowsCompleted}/${summary.rowsRequested} rows on disk`
  if (code === exitCodes.dropped) {
    return `${drops}; ${onDisk}. They are listed in ${invocation.out}/dropped.jsonl; ` +
      `to regenerate them: ${resumeCommand(invocation, true)}`
  }
  const stop = summary.stop
  const why = stop !== undefined
    ? `the run stopped early (${stop.reason}${
      stop.kind !== undefined && stop.kind !== stop.reason ? ` ${stop.kind}` : ""
    }: ${stop.message})`
    : summary.rowsCompleted === 0
    ? "no rows were written"
    : "the run stopped early"
  return [
    why,
    drops === "" ? undefined : drops,
    `${onDisk}, ${summary.rowsMissing} missing. Fix the cause, then continue with: ` +
    resumeCommand(invocation, summary.rowsDropped > 0)
  ].filter((part) => part !== undefined).join("; ")
}

/**
 * What an interruption before the run started leaves, and the command that goes on from there: an `--overwrite` may
 * have removed part of the previous dataset (running it again replaces the rest); otherwise the dataset is as it
 * was, or, once its manifest is written, an empty dataset that `--resume` continues.
 */
const beforeStartMessage = (
  invocation: GenerateInvocation,
  mode: "fresh" | "overwrite" | "resume",
  retryDropped: boolean
) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    if (mode === "overwrite") {
      return "interrupted before the run started; the previous dataset may be partly removed. To start over, run " +
        "the same command again"
    }
    const manifest = yield* fs.exists(path.join(invocation.out, manifestFile)).pipe(Effect.orElseSucceed(() => false))
    return manifest
      ? `interrupted before the run started; no row was generated. To continue: ${
        resumeCommand(invocation, retryDropped)
      }`
      : "interrupted before the run started; nothing was written. Run the same command again to start"
  })

const formatSummary = (summary: RunSummary & { readonly tokens?: TokenSummary }, out: string): string => {
  const r = summary.requests
  const drops = describeDrops(summary)
  return [
    `rows: ${summary.rowsCompleted}/${summary.rowsRequested} on disk, ${summary.rowsDropped} dropped${
      drops === "" ? "" : ` (${drops})`
    }${summary.rowsMissing > 0 ? `, ${summary.rowsMissing} missing` : ""} · ${summary.status}${
      summary.attempt > 1 ? ` (attempt ${summary.attempt})` : ""
    }`,
    `requests: ${r.attempts} attempts, ${r.succeeded} ok, ${r.rateLimited} rate limited, ${r.serverErrors} server errors, ` +
    `${r.timeouts} timeouts, ${r.admissionTimeouts} admission timeouts; max request waiters ${summary.maxRequestWaiters}`,
    ...[formatTokenLine(summary.tokens)].filter((line) => line !== undefined),
    `leaks: ${summary.leaks.taskLeases} task leases, ${summary.leaks.requestLeases} request leases, ${summary.leaks.requestWaiters} request waiters`,
    `elapsed: ${
      summary.elapsedSeconds.toFixed(2)
    } s · wrote ${out}/ (data/, journal.jsonl, dropped.jsonl, summary.json)`
  ].join("\n")
}

/** `--progress auto`: a live bar on a TTY, plain lines otherwise (and nothing with `--json`). */
export const progressMode = (choice: "auto" | ProgressMode, json: boolean): ProgressMode =>
  choice !== "auto" ? choice : json ? "off" : process.stderr.isTTY ? "bar" : "lines"

const defaultOut = (config: string): string =>
  `out/${config.split("/").pop()?.replace(/\.(ya?ml|json)$/i, "") ?? "dataset"}`

class GenerateUsageError extends Data.TaggedError("GenerateUsageError")<{ readonly message: string }> {
  readonly exitCode = exitCodes.usage
}

/**
 * `sluice generate <config> [--rows N] [--out DIR] [--resume [--retry-dropped] | --overwrite] [--json]
 * [--redis URL [--workers N]]`.
 */
export const generateCommand = Command.make(
  "generate",
  {
    config: Argument.String("config").pipe(Argument.withDescription("Path to the YAML or JSON config file")),
    rows: Flag.Int("rows").pipe(Flag.withDescription("Override run.rows"), Flag.optional),
    out: Flag.String("out").pipe(Flag.withDescription("Output directory (default out/<config name>)"), Flag.optional),
    resume: Flag.Boolean("resume").pipe(
      Flag.withDescription(
        "Continue the dataset in --out: verify the row groups already written, generate the rest"
      ),
      Flag.withDefault(false)
    ),
    retryDropped: Flag.Boolean("retry-dropped").pipe(
      Flag.withDescription("With --resume: also regenerate the rows earlier attempts dropped"),
      Flag.withDefault(false)
    ),
    overwrite: Flag.Boolean("overwrite").pipe(
      Flag.withDescription("Replace the Sluice dataset in --out (only files Sluice wrote are removed)"),
      Flag.withDefault(false)
    ),
    json: Flag.Boolean("json").pipe(Flag.withDescription("Print summary.json to stdout"), Flag.withDefault(false)),
    noCheck: Flag.Boolean("no-check").pipe(
      Flag.withDescription("Skip the check that every model answers before the run (see `sluice check`)"),
      Flag.withDefault(false)
    ),
    progress: Flag.Literals("progress", ["auto", "bar", "lines", "off"]).pipe(
      Flag.withDescription("Progress on stderr: a live bar on a TTY, plain lines otherwise"),
      Flag.withDefault("auto")
    ),
    ...distributedFlags
  },
  Effect.fnUntraced(
    function*({ config, rows, out, resume, retryDropped, overwrite, json, noCheck, progress, ...distributed }) {
      if (resume && overwrite) {
        return yield* new GenerateUsageError({ message: "--resume and --overwrite cannot be used together" })
      }
      if (retryDropped && !resume) {
        return yield* new GenerateUsageError({ message: "--retry-dropped needs --resume" })
      }
      const invocation: GenerateInvocation = {
        config,
        out: Option.getOrElse(out, () => defaultOut(config)),
        rows: Option.getOrUndefined(rows)
      }
      const loaded = yield* loadConfig(config, { rows: invocation.rows })
      const report = (summary: RunSummary) =>
        json ? Console.log(JSON.stringify(summary)) : Console.log(formatSummary(summary, invocation.out))
      // Whether the run got as far as reporting an interruption itself (else it was interrupted before it started).
      let interruptionReported = false
      const onInterrupted = (summary: RunSummary) =>
        Effect.andThen(
          Effect.andThen(Effect.sync(() => (interruptionReported = true)), report(summary)),
          Console.error(
            `sluice: interrupted; ${summary.rowsCompleted}/${summary.rowsRequested} rows on disk ` +
              `(${invocation.out}/summary.json). To continue: ${resumeCommand(invocation, retryDropped)}`
          )
        )
      const interruptedBeforeStart = Effect.suspend(() =>
        interruptionReported ? Effect.void : Effect.flatMap(
          beforeStartMessage(invocation, overwrite ? "overwrite" : resume ? "resume" : "fresh", retryDropped),
          (message) => Console.error(`sluice: ${message}`)
        )
      )
      // The same check as `sluice check` (cheap, even on the embedded mock): a wrong base URL, model or key ends
      // here, once the output directory is known to be usable and before anything in it is written.
      const check = noCheck
        ? undefined
        : runModelCheck(loaded, (line) => Console.error(`check${line.slice(1)}`))
      const reportingEarlyInterrupt = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
        Effect.onInterrupt(effect, () => interruptedBeforeStart)
      const { summary } = Option.isSome(distributed.redis)
        ? yield* reportingEarlyInterrupt(generateDistributed(loaded, {
          ...distributed,
          redis: distributed.redis.value,
          out: invocation.out,
          rows: invocation.rows,
          resume,
          overwrite,
          retryDropped,
          progress: progressMode(progress, json),
          check,
          onInterrupted
        }))
        : yield* reportingEarlyInterrupt(
          runPipeline(loaded, {
            out: invocation.out,
            resume,
            overwrite,
            retryDropped,
            progress: progressMode(progress, json),
            ...(check === undefined ? {} : { check }),
            onInterrupted
          }).pipe(Effect.scoped)
        )
      yield* report(summary)
      const message = incompleteMessage(summary, invocation)
      if (message !== undefined) {
        return yield* new GenerateIncompleteError({ message, exitCode: exitCodeOf(summary) })
      }
    }
  )
).pipe(Command.withDescription(
  "Generate a dataset from a config file. Exit codes: 0 every row on disk; 2 usage, config or output-directory " +
    "error; 3 finished with dropped rows; 4 stopped early or wrote nothing; 130 interrupted; 1 a bug"
))
