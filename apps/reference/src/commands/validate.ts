import { formatCapacityPlan, resolveScheduling } from "@sluice/resolver"
import { Console, Effect } from "effect"
import { Argument, Command } from "effect/cli"
import { loadConfig } from "../config/loadConfig.js"
import { columnScheduling } from "../pipeline/columnScheduling.js"

const describeColumn = (
  column: {
    readonly config: { readonly name: string; readonly type: string }
    readonly dependencies: ReadonlyArray<string>
    readonly model?: { readonly alias: string; readonly provider: string; readonly model: string }
  }
) => {
  const model = column.model === undefined
    ? ""
    : `  [${column.model.alias} = ${column.model.provider}/${column.model.model}]`
  const needs = column.dependencies.length === 0 ? "root" : `needs ${column.dependencies.join(", ")}`
  return `  ${column.config.name} (${column.config.type}) — ${needs}${model}`
}

/** `sluice validate <config>`: checks a config and prints the resolved DAG and the capacity plan. */
export const validateCommand = Command.make(
  "validate",
  { config: Argument.String("config").pipe(Argument.withDescription("Path to the YAML or JSON config file")) },
  Effect.fnUntraced(function*({ config }) {
    const loaded = yield* loadConfig(config)
    const scheduling = yield* columnScheduling(loaded)
    const resolved = yield* resolveScheduling(scheduling, { maxInFlightTasks: loaded.config.run.maxInFlightTasks })
    yield* Console.log(`${config}: valid (config hash ${loaded.hash.slice(0, 12)})`)
    yield* Console.log(`\nColumns (${loaded.columns.length}):`)
    for (const column of loaded.columns) yield* Console.log(describeColumn(column))
    yield* Console.log(`\nCapacity plan:`)
    yield* Console.log(formatCapacityPlan(resolved.capacityPlan))
  })
).pipe(Command.withDescription("Check a config file and print its column DAG and capacity plan"))
