import { resolveScheduling } from "@sluice/resolver"
import { Console, Effect } from "effect"
import { Argument, Command } from "effect/cli"
import { loadConfig } from "../config/loadConfig.js"
import { formatRunPlan, planRun } from "../config/runPlan.js"
import { columnScheduling } from "../pipeline/columnScheduling.js"

const describeColumn = (
  column: {
    readonly config: { readonly name: string; readonly type: string }
    readonly dependencies: ReadonlyArray<string>
    readonly model?: { readonly alias: string; readonly provider: string; readonly model: string }
  }
) => {
  const model = column.model === undefined ? "" : ` → model ${column.model.alias}`
  const needs = column.dependencies.length === 0 ? "needs nothing" : `needs ${column.dependencies.join(", ")}`
  return `  ${column.config.name} (${column.config.type}), ${needs}${model}`
}

/** `sluice validate <config>`: checks a config, then prints its columns and what the run will ask of each model. */
export const validateCommand = Command.make(
  "validate",
  { config: Argument.String("config").pipe(Argument.withDescription("Path to the YAML or JSON config file")) },
  Effect.fnUntraced(function*({ config }) {
    const loaded = yield* loadConfig(config)
    // The scheduler's own checks (capacity groups, limits) run too, so a config validate accepts can run.
    const scheduling = yield* columnScheduling(loaded)
    yield* resolveScheduling(scheduling, { maxInFlightTasks: loaded.config.run.maxInFlightTasks })
    yield* Console.log(`${config}: valid (config hash ${loaded.hash.slice(0, 12)})`)
    if (loaded.seed !== undefined) {
      const { seed } = loaded
      yield* Console.log(
        `\nSeed table: ${seed.file} (${seed.rows.length} rows; columns ${seed.columns.join(", ")}; sampling ` +
          `${loaded.config.seed?.sampling ?? "ordered"})`
      )
    }
    yield* Console.log(`\nColumns (${loaded.columns.length}):`)
    for (const column of loaded.columns) yield* Console.log(describeColumn(column))
    yield* Console.log("")
    yield* Console.log(formatRunPlan(planRun(loaded)).join("\n"))
  })
).pipe(Command.withDescription("Check a config file and print its columns and what the run asks of each model"))
