import type { ModelError, ModelErrorKind } from "@sluice/errors"
import type { CapacityPlan, SchedulingMetadata, SchedulingMetadataError } from "@sluice/resolver"
import type { RequestCapacitySource } from "@sluice/scheduling-resources"
import type { Duration, Effect } from "effect"
import type { GeneratorError } from "./errors.js"

/** The values of one row: column name → value. */
export type RowValues = Readonly<Record<string, unknown>>

/** What a generator may fail with: a typed model error, or a typed non-model failure. */
export type GenerationFailure = ModelError | GeneratorError

/** Input of a cell task: one row. `values` holds every column computed so far for that row. */
export interface CellInput {
  readonly rowGroup: number
  /** Index inside the row group. */
  readonly rowIndex: number
  /** Index in the whole dataset. */
  readonly row: number
  readonly values: RowValues
}

/**
 * Input of a full-column task: the surviving (not dropped) rows of a row group, in order. A root full column
 * (`from_scratch`) receives empty rows and must return one record per row.
 */
export interface BatchInput {
  readonly rowGroup: number
  /** Dataset index of the row group's first row: `rows[i]` is dataset row `firstRow + rowIndexes[i]`. */
  readonly firstRow: number
  /** Indexes inside the row group. */
  readonly rowIndexes: ReadonlyArray<number>
  readonly rows: ReadonlyArray<RowValues>
}

interface ColumnBase {
  /** The generator's name; also its only output column unless `outputs` is given. */
  readonly name: string
  /** Columns this generator reads (any output column of another generator). */
  readonly requires?: ReadonlyArray<string> | undefined
  /** Output columns (default `[name]`). Every key the generator returns outside this list is ignored. */
  readonly outputs?: ReadonlyArray<string> | undefined
  /**
   * How the generator's tasks are scheduled (`@sluice/resolver` metadata; default `localMetadata()`). A
   * `SchedulingMetadataError` with a fallback uses the fallback and reports it in the capacity plan.
   */
  readonly scheduling?: SchedulingMetadata | SchedulingMetadataError | undefined
}

/** One task per row. */
export interface CellColumn<R> extends ColumnBase {
  readonly strategy: "cell"
  readonly generate: (input: CellInput) => Effect.Effect<RowValues, GenerationFailure, R>
}

/** One task per row group (`from_scratch` when it has no requirements, `batch` otherwise). */
export interface FullColumn<R> extends ColumnBase {
  readonly strategy: "full"
  readonly generate: (input: BatchInput) => Effect.Effect<ReadonlyArray<RowValues>, GenerationFailure, R>
}

export type Column<R = never> = CellColumn<R> | FullColumn<R>

/** The surviving rows of one completed row group. */
export interface Checkpoint {
  readonly rowGroup: number
  /** Dataset index of the row group's first row. */
  readonly firstRow: number
  readonly size: number
  /** Indexes (inside the row group) of the surviving rows, parallel to `rows`. */
  readonly rowIndexes: ReadonlyArray<number>
  readonly rows: ReadonlyArray<RowValues>
}

/** Where completed row groups go. Each row group is written at most once, whole, and never interrupted midway. */
export interface CheckpointSink<R = never> {
  readonly write: (checkpoint: Checkpoint) => Effect.Effect<void, unknown, R>
}

export interface RetryOptions {
  /** Total attempts of a task failing with a `retry`-policy error before its row is dropped (default 3). */
  readonly maxAttempts?: number
  /** First backoff delay (default 1 second); doubles per attempt, with ±50 % jitter from `Random`. */
  readonly baseDelay?: Duration.Input
  /** Backoff cap (default 30 seconds). */
  readonly maxDelay?: Duration.Input
  /**
   * How long a task may keep failing with `preserve`-policy errors (rate limits, admission timeouts), measured
   * from its first failure, before its row is dropped with a `preserve_deadline_exceeded` cause. Default: none.
   */
  readonly preserveDeadline?: Duration.Input | undefined
}

export interface EarlyShutdownOptions {
  /** Outcomes in the sliding window (default 10). */
  readonly window?: number
  /** Non-retryable failure share that stops the run once the window is full (default 0.5). */
  readonly rate?: number
}

export type AdmissionPolicyName = "bounded-borrow" | "strict-fair"

export interface SchedulerSpec<R = never> {
  readonly columns: ReadonlyArray<Column<R>>
  readonly rows: number
  readonly bufferSize: number
  readonly sink: CheckpointSink<R>
}

export interface SchedulerOptions {
  /** Row groups admitted and not yet checkpointed (default 3). */
  readonly maxConcurrentRowGroups?: number
  /** `submission` limit: tasks holding a lease at once (default 1024). */
  readonly maxInFlightTasks?: number
  /** `llm_wait` limit and model-group admission cap (default `maxInFlightTasks`). */
  readonly maxModelTaskAdmission?: number
  /** Default `bounded-borrow`. */
  readonly admissionPolicy?: AdmissionPolicyName
  /**
   * Tasks dispatched per dispatcher step (default 4). When more are ready, the dispatcher yields to the event
   * loop before the next batch, so answers that arrived meanwhile — a 429 that lowers a request limit, a
   * cooldown — are seen before more requests go out: a first wave above a provider's real capacity draws a
   * handful of 429s instead of one per excess request.
   */
  readonly dispatchBatch?: number
  readonly retry?: RetryOptions
  /** `false` disables early shutdown entirely. */
  readonly earlyShutdown?: EarlyShutdownOptions | false
  /** Live request capacity (default: static limits from the scheduling metadata). */
  readonly requestCapacity?: RequestCapacitySource
  /** Row groups already checkpointed by an earlier run; they are skipped. */
  readonly resume?: { readonly completedRowGroups: Iterable<number> }
}

/** Why a row was dropped. `kind` is the model error kind, or a scheduler kind. */
export type DropKind =
  | ModelErrorKind
  | "generator_failure"
  | "generator_defect"
  | "preserve_deadline_exceeded"
  | "early_shutdown"

export interface DropCause {
  readonly kind: DropKind
  /** The generator whose task failed (absent for early shutdown). */
  readonly column?: string
  readonly attempts?: number
  readonly error?: GenerationFailure
  readonly message: string
}

export interface DroppedRow {
  readonly rowGroup: number
  /** Dataset index. */
  readonly row: number
  readonly cause: DropCause
}

export interface RuntimeRequestLimit {
  readonly resource: string
  readonly staticLimit: number
  readonly currentLimit: number
  readonly minObservedLimit: number
  readonly open: boolean
}

export interface SchedulerResult {
  readonly rowsRequested: number
  /** Rows of row groups skipped because `resume` listed them. */
  readonly rowsResumed: number
  readonly rowsCompleted: number
  readonly rowsDropped: number
  readonly droppedRows: ReadonlyArray<DroppedRow>
  readonly dropCauses: Readonly<Partial<Record<DropKind, number>>>
  /** Task outcomes: `success`, or the failure kind (retried failures included). */
  readonly outcomes: Readonly<Record<string, number>>
  readonly checkpointedRowGroups: number
  readonly earlyShutdown: boolean
  readonly maxRequestWaiters: number
  readonly maxInFlightByResource: Readonly<Record<string, number>>
  /** The resolver's plan (every limit with its source) with the runtime request limits recorded. */
  readonly capacityPlan: CapacityPlan
  /** Per `request:{provider}/{model}`: static limit, limit at the end, lowest limit seen, open or cooling. */
  readonly runtimeRequestLimits: ReadonlyArray<RuntimeRequestLimit>
}
