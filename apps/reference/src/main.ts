import { NodeRuntime, NodeServices } from "@effect/platform-node"
import { Effect } from "effect"
import { Command } from "effect/cli"
import { mockProviderCommand } from "@sluice/mock-provider/cli"
import packageJson from "../package.json" with { type: "json" }
import { checkCommand } from "./commands/check.js"
import { generateCommand } from "./commands/generate.js"
import { previewCommand } from "./commands/preview.js"
import { schemaCommand } from "./commands/schema.js"
import { validateCommand } from "./commands/validate.js"
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
    schemaCommand,
    mockProviderCommand("mock-provider")
  ])
)

sluice.pipe(
  Command.run({ version: packageJson.version }),
  reportFailure,
  Effect.provide(NodeServices.layer),
  (program) => NodeRuntime.runMain(program, { disableErrorReporting: true })
)
