// `pnpm bench <scenario> …` runs this (see scripts/bench.mjs at the repository root).
import { NodeRuntime, NodeServices } from "@effect/platform-node"
import { Cause, Console, Data, Effect, Runtime } from "effect"
import { Command } from "effect/cli"
import { benchCommand } from "./command.js"

/** Already reported on stderr; carries the exit code. */
class Reported extends Data.TaggedError("Reported")<{ readonly code: number }> {
  override get [Runtime.errorExitCode](): number {
    return this.code
  }
}

benchCommand.pipe(
  Command.run({ version: "0.0.0" }),
  // A harness failure (a mock that would not start, a bad flag) is one line on stderr and exit code 1; the CLI's
  // own parse errors have printed their message already.
  Effect.catchCause((cause) => {
    if (Cause.hasInterruptsOnly(cause)) return Effect.interrupt
    const error = Cause.squash(cause) as { readonly _tag?: unknown; readonly message?: unknown }
    if (error._tag === "ShowHelp") return Effect.fail(new Reported({ code: 1 }))
    const message = Cause.hasDies(cause) ? Cause.pretty(cause) : String(error.message ?? error)
    return Console.error(`bench: ${message}`).pipe(Effect.andThen(Effect.fail(new Reported({ code: 1 }))))
  }),
  Effect.provide(NodeServices.layer),
  (program) => NodeRuntime.runMain(program, { disableErrorReporting: true })
)
