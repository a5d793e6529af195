#!/usr/bin/env node
// `sluice-mock-provider [--port P] [--capacity N] …`: the mock provider in the foreground, until Ctrl-C.
import { NodeRuntime, NodeServices } from "@effect/platform-node"
import { Console, Data, Effect, Runtime } from "effect"
import { Command } from "effect/cli"
import packageJson from "../package.json" with { type: "json" }
import { mockProviderCommand } from "./cli.js"

/** Already reported on stderr; carries the exit code. */
class Reported extends Data.TaggedError("Reported")<{ readonly code: number }> {
  override get [Runtime.errorExitCode](): number {
    return this.code
  }
}

mockProviderCommand("sluice-mock-provider").pipe(
  Command.run({ version: packageJson.version }),
  // Bad options or a port in use: one line on stderr naming the option, and exit code 2 (no stack trace).
  Effect.catchTag(
    "MockProviderError",
    (error) =>
      Console.error(`sluice-mock-provider: ${error.message.replace(/\s*\n\s*/g, " ")}`).pipe(
        Effect.andThen(Effect.fail(new Reported({ code: 2 })))
      )
  ),
  Effect.provide(NodeServices.layer),
  (program) => NodeRuntime.runMain(program, { disableErrorReporting: true })
)
