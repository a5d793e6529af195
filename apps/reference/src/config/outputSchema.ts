import { Schema } from "effect"
import { optional } from "./schemaDocs.js"

// The `run:` keys that decide how a dataset is written. Optional rather than defaulted: a config without them keeps
// its hash and data identity.

export const OutputFormat = Schema.Literals(["jsonl", "parquet"])
export type OutputFormat = typeof OutputFormat.Type

export const outputRunFields = {
  format: optional(OutputFormat, {
    description: "The row-group files' format: `jsonl` (the default; one JSON object per line) or `parquet` (one " +
      "Parquet file per row group, column types inferred). `sluice export` merges either into one file."
  }),
  events: optional(Schema.Boolean, {
    description: "Write `events.jsonl` in the output directory: scheduler and request events with their run, row " +
      "group, task and attempt ids, provider health, and capacity snapshots (default `false`)."
  })
}
