import { Console, Effect, FileSystem, Option } from "effect"
import { Argument, Command, Flag } from "effect/cli"
import type { BenchResult, PeersReport } from "./BenchResult.js"
import { BenchCpus } from "./BenchCpus.js"
import { BenchError, type MockPlacement } from "./mockHost.js"
import { scenarioNames, scenarios } from "./registry.js"
import { defaultRounds } from "./rounds.js"
import type { Scenario, ScenarioContext } from "./Scenario.js"
import type { ScaleoutReport } from "./scenarios/scaleout.js"
import { renderSvg, scenarioPlot } from "./plots.js"

const runOne = Effect.fnUntraced(
  function*(scenario: Scenario, ctx: ScenarioContext, json: boolean, out: string | undefined) {
    yield* Console.error(`bench ${scenario.name}: ${scenario.describe}`)
    const output = yield* scenario.run(ctx)
    const plot = out === undefined ? undefined : scenarioPlot(scenario.name, output)
    if (out !== undefined && plot !== undefined) {
      const fs = yield* FileSystem.FileSystem
      yield* fs.makeDirectory(out, { recursive: true })
      yield* fs.writeFileString(`${out}/${scenario.name}.svg`, yield* renderSvg(plot))
    }
    yield* Console.log(`\n### ${scenario.name}\n\n${output.table}\n`)
    if (json) yield* Console.log(JSON.stringify(output.result))
    return output.result
  }
)

/**
 * `pnpm bench <scenario|all> [--json] [--out DIR] [--rounds N] [--tiny] [--full] [--mock …] [--cpus …]`: runs the
 * scenarios, prints each one's Markdown table and (with `--json`) its JSON object as the last line.
 */
export const benchCommand = Command.make(
  "bench",
  {
    scenario: Argument.Literals("scenario", ["all", ...scenarioNames]).pipe(
      Argument.withDescription(`One of: all, ${scenarioNames.join(", ")}`)
    ),
    json: Flag.Boolean("json").pipe(
      Flag.withDescription("Print each result as one JSON line (the last line of its output)"),
      Flag.withDefault(false)
    ),
    out: Flag.String("out").pipe(
      Flag.withDescription("Write one SVG timeline per scenario into this directory"),
      Flag.optional
    ),
    full: Flag.Boolean("full").pipe(
      Flag.withDescription("Full sizes (cooling-provider 2,048 rows, longer scale budget)"),
      Flag.withDefault(false)
    ),
    tiny: Flag.Boolean("tiny").pipe(
      Flag.withDescription("Tiny sizes (a smoke test of the harness, seconds per scenario)"),
      Flag.withDefault(false)
    ),
    mock: Flag.Literals("mock", ["child-process", "in-process"]).pipe(
      Flag.withDescription("Where HTTP scenarios run the mock provider (default: a child process, see BENCHMARKS.md)"),
      Flag.withDefault("child-process")
    ),
    cpus: Flag.Literals("cpus", ["split", "shared"]).pipe(
      Flag.withDescription(
        "split (default): mock children on the last CPU, this process on the others (taskset, Linux); shared: no pinning"
      ),
      Flag.withDefault("split")
    ),
    rounds: Flag.Int("rounds").pipe(
      Flag.withDescription(
        `Measured rounds of pressure-725 and peers, after a warm-up; the median round is reported (default ${defaultRounds})`
      ),
      Flag.withDefault(defaultRounds)
    )
  },
  Effect.fnUntraced(function*({ scenario, json, out, full, tiny, mock, cpus, rounds }) {
    if (rounds < 1) {
      return yield* Effect.fail(new BenchError({ message: `--rounds must be at least 1 (got ${rounds})` }))
    }
    const ctx: ScenarioContext = { full, tiny, placement: mock as MockPlacement, rounds: tiny ? 1 : rounds }
    const outDir = Option.getOrUndefined(out)
    const selected = scenario === "all"
      ? scenarios.filter((s) => s.inAll !== false)
      : scenarios.filter((s) => s.name === scenario)
    const results: Array<BenchResult | PeersReport | ScaleoutReport> = []
    const runAll = Effect.gen(function*() {
      for (const s of selected) results.push(yield* runOne(s, ctx, json, outDir))
    })
    yield* cpus === "split" ? Effect.provide(runAll, BenchCpus.layer) : runAll
    if (scenario === "all" && json) yield* Console.log(JSON.stringify({ scenario: "all", results }))
  })
).pipe(Command.withDescription("Run the benchmark scenarios and compare each with its ideal time"))
