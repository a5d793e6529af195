import { Console, Effect } from "effect"
import { Argument, Command } from "effect/cli"
import { OpenAiClientLayer } from "../client/index.js"
import { type LoadedConfig, loadConfig } from "../config/loadConfig.js"
import { checkModels, formatProbe, ModelCheckFailedError, type ProbeResult } from "../pipeline/checkModels.js"

/**
 * Checks a config's models before a run: loads the config (exit 2 on a config error), sends each model one tiny
 * request (and a structured-output probe where structured columns need one), prints each answer's status and
 * latency or the provider's error, and fails with exit 4 unless every model answered.
 */
export const runModelCheck = (loaded: LoadedConfig, log: (line: string) => Effect.Effect<void>) =>
  checkEachModel(loaded, (result) => log(formatProbe(result)))

/** `runModelCheck` with each model's result as a value (the programmatic `generate` reports them as events). */
export const checkEachModel = Effect.fnUntraced(function*(
  loaded: LoadedConfig,
  onResult: (result: ProbeResult) => Effect.Effect<void>
) {
  const results = yield* checkModels(loaded).pipe(Effect.provide(OpenAiClientLayer))
  for (const result of results) yield* onResult(result)
  const failed = results.filter((result) => !result.ok)
  if (failed.length > 0) return yield* new ModelCheckFailedError({ failed })
  return results
})

/** `sluice check <config>`. */
export const checkCommand = Command.make(
  "check",
  { config: Argument.String("config").pipe(Argument.withDescription("Path to the YAML or JSON config file")) },
  Effect.fnUntraced(function*({ config }) {
    yield* Console.log(`Checking the models of ${config}:`)
    const results = yield* runModelCheck(yield* loadConfig(config), Console.log)
    if (results.length === 0) yield* Console.log("  no models: nothing to check")
    else yield* Console.log(`every model answered`)
  })
).pipe(Command.withDescription("Send each model one tiny request: is the base URL, model name and key right?"))
