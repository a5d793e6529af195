import { Schema } from "effect"
import { DropRecord } from "../output/dropped.js"
import { JournalEntry } from "../output/journal.js"

const PositiveInt = Schema.Int.check(Schema.isGreaterThan(0))

/** Timings every process of a run shares (the coordinator picks them; workers read them from the spec). */
export const RunTimings = Schema.Struct({
  /** A taken row group whose worker stops renewing its claim for this long goes back to the queue. */
  leaseMillis: PositiveInt,
  /** How often claims, worker and coordinator liveness keys are renewed (below `leaseMillis`). */
  heartbeatMillis: PositiveInt,
  /** How often idle workers look for queued groups, and the coordinator for commits. */
  pollMillis: PositiveInt,
  /** A group given up after this many deliveries stops the run (a worker killed mid-group counts one). */
  maxDeliveries: PositiveInt
})
export type RunTimings = typeof RunTimings.Type

/**
 * What the coordinator stores under the run's key for workers to join: the config's text (decoded by each worker
 * with the same checks, and compared by hash), the absolute paths of the config (for seed files and relative
 * paths) and of the shared output directory, and the run's timings.
 */
export const RunSpec = Schema.Struct({
  runId: Schema.String,
  configFile: Schema.String,
  configText: Schema.String,
  configHash: Schema.String,
  /** `--rows`, when given. */
  rows: Schema.optional(PositiveInt),
  out: Schema.String,
  timings: RunTimings
})
export type RunSpec = typeof RunSpec.Type

export const encodeRunSpec = Schema.encodeSync(Schema.fromJsonString(RunSpec))
export const decodeRunSpec = Schema.decodeUnknownEffect(Schema.fromJsonString(RunSpec))

/** A queued row group. */
export const GroupTask = Schema.Struct({ group: Schema.Int.check(Schema.isGreaterThanOrEqualTo(0)) })
export type GroupTask = typeof GroupTask.Type

/**
 * A group's commit marker and commit record: the attempt file that holds the group (in `data/`), its journal entry
 * (final name, size, sha256, dropped rows) and the causes of its dropped rows.
 */
export const CommitRecord = Schema.Struct({
  attemptFile: Schema.String,
  entry: JournalEntry,
  drops: Schema.Array(DropRecord)
})
export type CommitRecord = typeof CommitRecord.Type

export const encodeCommitRecord = Schema.encodeSync(Schema.fromJsonString(CommitRecord))
export const decodeCommitRecord = Schema.decodeUnknownOption(Schema.fromJsonString(CommitRecord))

/** Why a worker saw the run stop (what `summary.json`'s `stop` says). */
export const StopRecord = Schema.Struct({
  reason: Schema.String,
  kind: Schema.optional(Schema.String),
  message: Schema.String
})
export const encodeStopRecord = Schema.encodeSync(Schema.fromJsonString(StopRecord))
export const decodeStopRecord = Schema.decodeUnknownOption(Schema.fromJsonString(StopRecord))
