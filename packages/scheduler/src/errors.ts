import { Schema } from "effect"

/**
 * Why a scheduler spec or its options were refused.
 *
 * @since 0.1.0
 */
export const SchedulerConfigReason = Schema.Literals([
  "invalid_value",
  "duplicate_column",
  "duplicate_output",
  "unknown_required_column",
  "cycle"
])

/**
 * @since 0.1.0
 */
export type SchedulerConfigReason = typeof SchedulerConfigReason.Type

/**
 * The spec or options are invalid. `field` names the offending input (`columns[2].requires[0]`, `bufferSize`,
 * `retry.maxAttempts`, …), `columns` the columns involved (for cycles: the columns on the cycle, in order).
 *
 * @since 0.1.0
 */
export class SchedulerConfigError extends Schema.TaggedError<SchedulerConfigError>()("SchedulerConfigError", {
  field: Schema.String,
  reason: SchedulerConfigReason,
  message: Schema.String,
  columns: Schema.optionalKey(Schema.Array(Schema.String))
}) {}

/**
 * Queued work exists, nothing runs, nothing is admissible and nothing waits in the retry ledger or on a cooling
 * resource: the run can never finish. Raised instead of hanging.
 *
 * @since 0.1.0
 */
export class SchedulerDeadlockError extends Schema.TaggedError<SchedulerDeadlockError>()("SchedulerDeadlockError", {
  message: Schema.String,
  queuedTasks: Schema.Number,
  /** Scheduler resources whose capacity was short for a queued head task, with their limit and leased amount. */
  blockedResources: Schema.Array(
    Schema.Struct({ resource: Schema.String, limit: Schema.Number, leased: Schema.Number })
  )
}) {}

/**
 * The checkpoint sink failed for a row group; the run stops so no row group is half-written or silently lost.
 *
 * @since 0.1.0
 */
export class SchedulerCheckpointWriteError
  extends Schema.TaggedError<SchedulerCheckpointWriteError>()("SchedulerCheckpointWriteError", {
    rowGroup: Schema.Number,
    cause: Schema.Defect()
  })
{
  override get message(): string {
    return `Checkpoint sink failed for row group ${this.rowGroup}`
  }
}

/**
 * A generator failure that is not a model error (bad output, a parse failure, a local bug surfaced as a value).
 * `retryable: true` gives it the bounded `retry` policy; otherwise the row (or the row group, for full-column
 * tasks) is dropped with this cause.
 *
 * @since 0.1.0
 */
export class SchedulerGeneratorError extends Schema.TaggedError<SchedulerGeneratorError>()("SchedulerGeneratorError", {
  message: Schema.String,
  retryable: Schema.optionalKey(Schema.Boolean),
  cause: Schema.optional(Schema.Defect())
}) {}

/**
 * A row-group processor failed (or returned a row index that is not one of its input's surviving rows); the run
 * stops, as a processor's rows cannot be trusted any more.
 *
 * @since 0.1.0
 */
export class SchedulerProcessorError extends Schema.TaggedError<SchedulerProcessorError>()("SchedulerProcessorError", {
  processor: Schema.String,
  stage: Schema.Literals(["pre-batch", "post-batch"]),
  rowGroup: Schema.Number,
  detail: Schema.String,
  cause: Schema.optional(Schema.Defect())
}) {
  override get message(): string {
    return `${this.stage === "pre-batch" ? "Pre-batch" : "Post-batch"} processor "${this.processor}" failed for ` +
      `row group ${this.rowGroup}: ${this.detail}`
  }
}

/**
 * Errors `run` can fail with. Row-level failures never fail the run: they drop rows with a recorded cause.
 *
 * @since 0.1.0
 */
export type SchedulerRunError = SchedulerDeadlockError | SchedulerCheckpointWriteError | SchedulerProcessorError
