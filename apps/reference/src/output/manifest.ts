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
