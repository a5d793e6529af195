import type { ModelError, ModelErrorKind } from "@sluice/errors"
import type { CapacityPlan, ResolvedScheduling, SchedulingMetadata, SchedulingMetadataError } from "@sluice/resolver"
import type { Effect } from "effect"
import type { SchedulerGeneratorError } from "./errors.js"

/** The values of one row: column name → value. */
export type RowValues = Readonly<Record<string, unknown>>

/** What a generator may fail with: a typed model error, or a typed non-model failure. */
export type GenerationFailure = ModelError | SchedulerGeneratorError

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
   * `SchedulingMetadataError` with a fallback uses the fallback and reports it in the capacity plan. Only read when
   * the spec has no resolved `scheduling`.
   */
  readonly scheduling?: SchedulingMetadata | SchedulingMetadataError | undefined
  /**
   * Conditional generation: asked once per cell when the cell becomes ready, with the row's values (every required
   * column is complete). `true` skips the cell: its outputs are written as `null` and the generator is never
   * called for that row (a full column receives only the rows not skipped, and is not called at all when every row
   * is). A `GenerationFailure` drops the row with that cause. The predicate must be synchronous and cheap.
   */
  readonly skip?: ((values: RowValues) => boolean | GenerationFailure) | undefined
  /** A cell one of whose required columns was skipped on its row is skipped too (default `true`). */
  readonly propagateSkip?: boolean | undefined
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

/** The stage a processor runs at. */
export type ProcessorStage = "pre-batch" | "post-batch"

/** The surviving rows of a row group, as a processor sees them. */
export interface ProcessorInput {
  readonly rowGroup: number
  /** Dataset index of the row group's first row. */
  readonly firstRow: number
  readonly size: number
  /** Indexes (inside the row group) of the surviving rows, parallel to `rows`. */
  readonly rowIndexes: ReadonlyArray<number>
  readonly rows: ReadonlyArray<RowValues>
}

/**
 * A row-group processor, run by the scheduler on the surviving rows of a row group:
 * - `pre-batch`: once the group's seed columns (local root columns: samplers, seed data) are complete and none of
 *   its tasks is alive, before any other column of the group is queued — so the rows it drops never reach a model;
 * - `post-batch`: once the group is complete, before its checkpoint.
 *
 * It returns the indexes (inside the row group, from `rowIndexes`) of the rows to drop. Dropped rows are recorded
 * with the kind `processor_dropped`; their pending tasks are purged, never dispatched nor counted. Processors of a
 * stage run in order, each on the survivors of the previous one. A processor failure fails the run with a
 * `SchedulerProcessorError`. Processors run on the dispatcher's loop: keep them quick.
 */
export interface RowProcessor<R = never> {
  readonly name: string
  readonly stage: ProcessorStage
  readonly process: (input: ProcessorInput) => Effect.Effect<ReadonlyArray<number>, unknown, R>
}

export interface SchedulerSpec<R = never> {
  readonly columns: ReadonlyArray<Column<R>>
  /** Row-group processors (default none), see `RowProcessor`. */
  readonly processors?: ReadonlyArray<RowProcessor<R>> | undefined
  readonly rows: number
  readonly bufferSize: number
  readonly sink: CheckpointSink<R>
  /**
   * The resolver's answer for these columns (`resolveScheduling` of `@sluice/resolver`, one generator per column
   * name): task groups, resource requests and limits, and the capacity plan. Resolve once and pass it here. Without
   * it, the scheduler resolves the columns' own `scheduling` metadata the same way (`resolveColumnScheduling`).
   */
  readonly scheduling?: ResolvedScheduling | undefined
}

/** Why a row was dropped. `kind` is the model error kind, or a scheduler kind. */
export type DropKind =
  | ModelErrorKind
  | "generator_failure"
  | "generator_defect"
  | "generator_interrupted"
  | "preserve_deadline_exceeded"
  | "early_shutdown"
  | "processor_dropped"

export interface DropCause {
  readonly kind: DropKind
  /** The generator whose task failed (absent for early shutdown and processor drops). */
  readonly column?: string
  /** The processor that dropped the row (`processor_dropped`). */
  readonly processor?: string
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

/**
 * Why a run stopped early: `early_shutdown` (the sliding window of non-retryable failures tripped) or
 * `stop_on_kind` (a failure of one of `stopOnKinds`, named by `kind`). `message` says what happened, with the first
 * failure's message.
 */
export interface SchedulerStop {
  readonly reason: "early_shutdown" | "stop_on_kind"
  readonly kind?: string
  readonly message: string
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
  /** Cells skipped by a column's `skip` (written as `null`, no generator call). */
  readonly cellsSkipped: number
  /** The run stopped early (see `stop` for why). */
  readonly earlyShutdown: boolean
  readonly stop?: SchedulerStop
  readonly maxRequestWaiters: number
  readonly maxInFlightByResource: Readonly<Record<string, number>>
  /** The resolver's plan (every limit with its source) with the runtime request limits recorded. */
  readonly capacityPlan: CapacityPlan
  /** Per `request:{provider}/{model}`: static limit, limit at the end, lowest limit seen, open or cooling. */
  readonly runtimeRequestLimits: ReadonlyArray<RuntimeRequestLimit>
}
