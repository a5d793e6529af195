import { Data } from "effect"

/** Why a scheduler spec was refused. */
export type SchedulerConfigReason =
  | "invalid_value"
  | "duplicate_column"
  | "duplicate_output"
  | "unknown_required_column"
  | "cycle"

/**
 * The spec or options are invalid. `field` names the offending input (`columns[2].requires[0]`, `bufferSize`, …),
 * `columns` the columns involved (for cycles: the columns on the cycle, in order).
 */
export class SchedulerConfigError extends Data.TaggedError("SchedulerConfigError")<{
  readonly field: string
  readonly reason: SchedulerConfigReason
  readonly message: string
  readonly columns?: ReadonlyArray<string>
}> {}

/**
 * Queued work exists, nothing runs, nothing is admissible and nothing waits in the retry ledger or on a cooling
 * resource: the run can never finish. Raised instead of hanging.
 */
export class SchedulerDeadlockError extends Data.TaggedError("SchedulerDeadlockError")<{
  readonly message: string
  readonly queuedTasks: number
  /** Scheduler resources whose capacity was short for a queued head task, with their limit and leased amount. */
  readonly blockedResources: ReadonlyArray<
    { readonly resource: string; readonly limit: number; readonly leased: number }
  >
}> {}

/** The checkpoint sink failed for a row group; the run stops so no row group is half-written or silently lost. */
export class CheckpointWriteError extends Data.TaggedError("CheckpointWriteError")<{
  readonly rowGroup: number
  readonly cause: unknown
}> {
  override get message(): string {
    return `Checkpoint sink failed for row group ${this.rowGroup}`
  }
}

/**
 * A generator failure that is not a model error (bad output, a parse failure, a local bug surfaced as a value).
 * `retryable: true` gives it the bounded `retry` policy; otherwise the row (or the row group, for full-column
 * tasks) is dropped with this cause.
 */
export class GeneratorError extends Data.TaggedError("GeneratorError")<{
  readonly message: string
  readonly retryable?: boolean
  readonly cause?: unknown
}> {}

/** Errors `run` can fail with. Row-level failures never fail the run: they drop rows with a recorded cause. */
export type SchedulerRunError = SchedulerDeadlockError | CheckpointWriteError
