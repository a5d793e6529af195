import type { TaskId } from "@sluice/scheduling-resources"
import type { DropKind, SchedulerStop } from "./Spec.js"

/**
 * Scheduler events, a union discriminated by `_tag` (the anchor's event names). They carry identities, counts and
 * kinds — never prompt or completion text. `at` is `Clock` time in milliseconds. They are only built while someone
 * subscribes to `Scheduler.events`.
 *
 * @since 0.1.0
 */
export type SchedulerEvent =
  | {
    readonly _tag: "scheduler_job_started"
    readonly at: number
    readonly rows: number
    readonly rowGroups: number
    readonly columns: ReadonlyArray<string>
  }
  | {
    readonly _tag: "scheduler_job_completed"
    readonly at: number
    readonly outcome: "success" | "early_shutdown" | "cancelled" | "error"
    readonly rowsCompleted: number
    readonly rowsDropped: number
    /** Why the run stopped early, when it did. */
    readonly stop?: SchedulerStop
  }
  | { readonly _tag: "row_group_admitted"; readonly at: number; readonly rowGroup: number; readonly size: number }
  | {
    readonly _tag: "row_group_checkpointed"
    readonly at: number
    readonly rowGroup: number
    readonly size: number
    readonly survivingRows: number
    readonly droppedRows: number
  }
  | { readonly _tag: "ready_enqueued"; readonly at: number; readonly taskId: TaskId; readonly column: string }
  | { readonly _tag: "selected"; readonly at: number; readonly taskId: TaskId; readonly column: string }
  | {
    readonly _tag: "admission_blocked" | "group_capped"
    readonly at: number
    readonly queued: number
    readonly reasons: Readonly<Record<string, number>>
  }
  | {
    readonly _tag: "task_lease_acquired" | "task_lease_released"
    readonly at: number
    readonly taskId: TaskId
    readonly column: string
    readonly resources: ReadonlyArray<string>
  }
  | { readonly _tag: "worker_spawned"; readonly at: number; readonly taskId: TaskId; readonly column: string }
  | {
    readonly _tag: "task_completed"
    readonly at: number
    readonly taskId: TaskId
    readonly column: string
    readonly outcome: "success" | DropKind | "row_dropped"
    /** Rows the task wrote values for: 1 for a cell task, the surviving rows for a full-column task; 0 unless a success. */
    readonly rows: number
  }
  | {
    readonly _tag: "retry_deferred" | "preserved_retryable"
    readonly at: number
    readonly taskId: TaskId
    readonly column: string
    readonly kind: string
    readonly attempt: number
    readonly eligibleAt: number
  }
  | {
    readonly _tag: "retry_redispatched"
    readonly at: number
    readonly taskId: TaskId
    readonly column: string
    readonly attempt: number
  }
  | {
    readonly _tag: "row_dropped"
    readonly at: number
    readonly rowGroup: number
    readonly row: number
    readonly kind: DropKind
    readonly column?: string
  }
  | { readonly _tag: "cancelled"; readonly at: number; readonly taskId: TaskId; readonly column: string }
  | {
    /** A cell skipped by its column's `skip` (or a skipped requirement): no task, no generator call. */
    readonly _tag: "cell_skipped"
    readonly at: number
    readonly rowGroup: number
    readonly row: number
    readonly column: string
  }
  | {
    readonly _tag: "processor_completed"
    readonly at: number
    readonly processor: string
    readonly stage: "pre-batch" | "post-batch"
    readonly rowGroup: number
    /** Surviving rows the processor received. */
    readonly rows: number
    readonly droppedRows: number
  }

/**
 * The event names.
 *
 * @since 0.1.0
 */
export type SchedulerEventTag = SchedulerEvent["_tag"]
