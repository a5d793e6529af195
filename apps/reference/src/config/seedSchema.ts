import { Schema } from "effect"

// The `seed:` block: an existing table whose columns become root columns of every row. Kept apart from the rest
// of the config schema: it is one feature, and its own file.

export const SeedFormat = Schema.Literals(["csv", "jsonl", "parquet"])
export type SeedFormat = typeof SeedFormat.Type

export const SeedSampling = Schema.Literals(["ordered", "shuffle", "replacement"])
export type SeedSampling = typeof SeedSampling.Type

export const SeedDataset = Schema.Struct({
  path: Schema.NonEmptyString.annotate({
    description: "The seed table's file, relative to the config file's directory (or absolute).",
    examples: ["seed-products.csv"]
  }),
  format: Schema.optional(SeedFormat.annotate({
    description: "The file's format (default: from its extension: `.csv`, `.jsonl`/`.ndjson`, `.parquet`)."
  })),
  sampling: Schema.optional(SeedSampling.annotate({
    description: "Which seed row each dataset row gets: `ordered` (row i gets seed row i, wrapping around), " +
      "`shuffle` (a seeded permutation, a new one each pass over the table), `replacement` (an independent " +
      "seeded draw per row). Default `ordered`."
  })),
  seed: Schema.optional(Schema.Int.annotate({
    description: "Seeds `shuffle` and `replacement` (default: `run.seed`)."
  }))
})
export type SeedDataset = typeof SeedDataset.Type
