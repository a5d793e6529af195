import { Schema } from "effect"

// `manifest.json`: the marker that makes a directory a Sluice output, written before anything else. It holds
// the data identity (and the data fields it is computed from, so a refused `--resume` can name what changed)
// and the full config of the latest attempt.

export const manifestFormat = "sluice-dataset/1"

export const Manifest = Schema.Struct({
  format: Schema.Literal(manifestFormat),
  createdBy: Schema.String,
  createdAt: Schema.String,
  /** 1 for the first run, +1 per `--resume`. */
  attempts: Schema.Int,
  rowsRequested: Schema.Int,
  bufferSize: Schema.Int,
  dataIdentity: Schema.String,
  /** The fields `dataIdentity` is the hash of. */
  data: Schema.Unknown,
  /** sha256 of the whole decoded config of the latest attempt. */
  configHash: Schema.String,
  configFile: Schema.String,
  config: Schema.Unknown
})
export type Manifest = typeof Manifest.Type

export const decodeManifest = Schema.decodeUnknownOption(Schema.fromJsonString(Manifest))
export const manifestText = (manifest: Manifest): string => JSON.stringify(manifest, null, 2) + "\n"

const runOf = (manifest: Manifest): Record<string, unknown> => {
  const config = manifest.config
  const run = typeof config === "object" && config !== null ? (config as Record<string, unknown>)["run"] : undefined
  return typeof run === "object" && run !== null ? run as Record<string, unknown> : {}
}

/** The row-group format the dataset's latest attempt wrote (`run.format`, `jsonl` by default). */
export const manifestFormatOf = (manifest: Manifest): "jsonl" | "parquet" =>
  runOf(manifest)["format"] === "parquet" ? "parquet" : "jsonl"

/** The prefix of the run ids in the dataset's `events.jsonl`: `<data identity, 12 hex>-` (then the attempt). */
export const eventRunIdPrefix = (dataIdentity: string): string => `${dataIdentity.slice(0, 12)}-`
