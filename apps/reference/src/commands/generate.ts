import { Console, Data, Effect, Option } from "effect"
import { Argument, Command, Flag } from "effect/cli"
import { modelErrorPolicies, type ModelErrorKind, modelErrorKinds } from "@sluice/errors"
import { loadConfig } from "../config/loadConfig.js"
import { runModelCheck } from "./check.js"
import type { ProgressMode } from "../progress/ProgressReporter.js"
import { runPipeline } from "../pipeline/runPipeline.js"
import type { RunSummary } from "../pipeline/summary.js"
import { formatTokenLine, type TokenSummary } from "../pipeline/tokenSummary.js"

// Drop kinds whose rows were lost to a failure retrying cannot fix (auth, quota, bad request…): the run did its job.
const failPolicyKinds = new Set<string>(
  (Object.keys(modelErrorKinds) as Array<keyof typeof modelErrorKinds>)
    .filter((tag) => modelErrorPolicies[tag] === "fail")
    .map((tag): ModelErrorKind => modelErrorKinds[tag])
)

/** Some rows were dropped for causes that retrying could have fixed (exit code 3). */
class RowsLostError extends Data.TaggedError("RowsLostError")<{ readonly message: string }> {
  readonly exitCode = 3
}

/** Exit 0 when every row completed or was dropped for a non-retryable cause. */
export const exitCodeOf = (summary: RunSummary): number =>
  Object.entries(summary.dropCauses).every(([kind, count]) => count === 0 || failPolicyKinds.has(kind)) ? 0 : 3

const formatSummary = (summary: RunSummary & { readonly tokens?: TokenSummary }, out: string): string => {
  const r = summary.requests
  const drops = Object.entries(summary.dropCauses).filter(([, n]) => n > 0).map(([kind, n]) => `${kind} ${n}`)
  return [
    `rows: ${summary.rowsCompleted}/${summary.rowsRequested} completed, ${summary.rowsDropped} dropped${
      drops.length > 0 ? ` (${drops.join(", ")})` : ""
    }`,
    `requests: ${r.attempts} attempts, ${r.succeeded} ok, ${r.rateLimited} rate limited, ${r.serverErrors} server errors, ` +
    `${r.timeouts} timeouts, ${r.admissionTimeouts} admission timeouts; max request waiters ${summary.maxRequestWaiters}`,
    ...[formatTokenLine(summary.tokens)].filter((line) => line !== undefined),
    `leaks: ${summary.leaks.taskLeases} task leases, ${summary.leaks.requestLeases} request leases, ${summary.leaks.requestWaiters} request waiters`,
    `elapsed: ${summary.elapsedSeconds.toFixed(2)} s · wrote ${out}/ (data/, metadata.json, summary.json)`
  ].join("\n")
}

const progressMode = (choice: "auto" | ProgressMode, json: boolean): ProgressMode =>
  choice !== "auto" ? choice : json ? "off" : process.stderr.isTTY ? "bar" : "lines"

const defaultOut = (config: string): string =>
  `out/${config.split("/").pop()?.replace(/\.(ya?ml|json)$/i, "") ?? "dataset"}`

/** `sluice generate <config> [--rows N] [--out DIR] [--resume] [--json]`. */
export const generateCommand = Command.make(
  "generate",
  {
    config: Argument.String("config").pipe(Argument.withDescription("Path to the YAML or JSON config file")),
    rows: Flag.Int("rows").pipe(Flag.withDescription("Override run.rows"), Flag.optional),
    out: Flag.String("out").pipe(Flag.withDescription("Output directory (default out/<config name>)"), Flag.optional),
    resume: Flag.Boolean("resume").pipe(
      Flag.withDescription("Continue an interrupted run in --out, keeping the row groups it already wrote"),
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
    )
  },
  Effect.fnUntraced(function*({ config, rows, out, resume, json, noCheck, progress }) {
    const loaded = yield* loadConfig(config, { rows: Option.getOrUndefined(rows) })
    // The same check as `sluice check` (cheap, even on the embedded mock): a wrong base URL, model or key ends here.
    if (!noCheck) yield* runModelCheck(loaded, (line) => Console.error(`check${line.slice(1)}`))
    const directory = Option.getOrElse(out, () => defaultOut(config))
    const { summary } = yield* runPipeline(loaded, {
      out: directory,
      resume,
      progress: progressMode(progress, json)
    }).pipe(Effect.scoped)
    yield* json ? Console.log(JSON.stringify(summary)) : Console.log(formatSummary(summary, directory))
    const code = exitCodeOf(summary)
    if (code !== 0) {
      return yield* Effect.fail(
        new RowsLostError({
          message: `${summary.rowsDropped} rows were dropped for retryable causes; see ${directory}/summary.json`
        })
      )
    }
  })
).pipe(Command.withDescription("Generate a dataset from a config file"))
