import { NodeRuntime, NodeServices } from "@effect/platform-node"
import { Console, Effect, Layer, Logger } from "effect"
import { CliOutput, Command } from "effect/cli"
import { mockProviderCommand } from "@sluice/mock-provider/cli"
import packageJson from "../package.json" with { type: "json" }
import { checkCommand } from "./commands/check.js"
import { exportCommand } from "./commands/export.js"
import { generateCommand } from "./commands/generate.js"
import { previewCommand } from "./commands/preview.js"
import { schemaCommand } from "./commands/schema.js"
import { validateCommand } from "./commands/validate.js"
import { workerCommand } from "./commands/worker.js"
import { reportFailure } from "./reportFailure.js"

const sluice = Command.make("sluice").pipe(
  Command.withDescription(
    "Generate datasets through rate-limited LLM providers at full capacity, without dropping rows"
  ),
  Command.withSubcommands([
    generateCommand,
    validateCommand,
    checkCommand,
    previewCommand,
    exportCommand,
    schemaCommand,
    workerCommand,
    mockProviderCommand("mock-provider")
  ])
)

// A mistyped flag is one line naming it (exit code 2), not the whole help text; `--help` still shows the help.
const usagePresenter = Layer.succeed(CliOutput.Presenter, {
  present: (event) =>
    event._tag === "InvalidInvocation"
      ? Effect.forEach(event.errors, (error) =>
        Console.error(
          `sluice: ${error.message.split("\n")[0] ?? ""} (see: ${event.commandPath.join(" ")} --help)`
        ), { discard: true })
      : CliOutput.defaultPresenter.present(event)
})

sluice.pipe(
  Command.run({ version: packageJson.version }),
  reportFailure,
  // Warnings (an early shutdown, a stop) go to stderr: stdout carries only a command's output (`--json`, a table).
  Effect.provideService(Logger.LogToStderr, true),
  Effect.provide(Layer.merge(NodeServices.layer, usagePresenter)),
  (program) => NodeRuntime.runMain(program, { disableErrorReporting: true })
)

// A closed terminal (SIGHUP) stops a run as SIGTERM does: what is finished is published and the lock released.
process.on("SIGHUP", () => process.kill(process.pid, "SIGTERM"))
