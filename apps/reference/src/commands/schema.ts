import { Console, Effect } from "effect"
import { Command, Flag } from "effect/cli"
import { configJsonSchemaText } from "../config/configJsonSchema.js"
import { configReference } from "../config/configReference.js"

/** `sluice schema [--reference]`: the config file's JSON Schema (or its Markdown reference), on stdout. */
export const schemaCommand = Command.make(
  "schema",
  {
    reference: Flag.Boolean("reference").pipe(
      Flag.withDescription("Print the config reference as Markdown (the README's) instead of the JSON Schema"),
      Flag.withDefault(false)
    )
  },
  Effect.fnUntraced(function*({ reference }) {
    yield* Console.log((reference ? configReference() : configJsonSchemaText()).trimEnd())
  })
).pipe(
  Command.withDescription(
    "Print the config's JSON Schema, for editors (`# yaml-language-server: $schema=…`) and other tools"
  )
)
