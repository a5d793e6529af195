// The same run as an Effect: typed errors in the error channel, interruption publishes what is finished.
import { Effect } from "effect"
import { generate } from "@sluice/reference"

const program = generate("examples/reviews.yaml", { out: "out/example-effect", rows: 20, mode: "overwrite" }).pipe(
  Effect.map((summary) => `${summary.status}: ${summary.rowsCompleted}/${summary.rowsRequested} rows on disk`),
  // Every failure is a tagged error with a message: a ConfigError names each problem's path.
  Effect.catchTag("ConfigError", (error) => Effect.succeed(`config problem: ${error.message}`))
)

console.log(await Effect.runPromise(program))
