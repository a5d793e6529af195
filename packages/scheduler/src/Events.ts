import type { TaskId } from "@sluice/scheduling-resources"
import type { DropKind } from "./Spec.js"

/**
 * Scheduler events (anchor names). They carry identities, counts and kinds — never prompt or completion text.
 * `at` is `Clock` time in milliseconds.
 */
export type SchedulerEvent =
  | {
    readonly type: "scheduler_job_started"
    readonly at: number
    readonly rows: number
    readonly rowGroups: number
    readonly columns: ReadonlyArray<string>
  }
  | {
    readonly type: "scheduler_job_completed"
    readonly at: number
    readonly outcome: "success" | "early_shutdown" | "cancelled" | "error"
    readonly rowsCompleted: number
    readonly rowsDropped: number
  }
  | { readonly type: "row_group_admitted"; readonly at: number; readonly rowGroup: number; readonly size: number }
  | {
    readonly type: "row_group_checkpointed"
    readonly at: number
    readonly rowGroup: number
    readonly size: number
    readonly survivingRows: number
    readonly droppedRows: number
  }
  | { readonly type: "ready_enqueued"; readonly at: number; readonly taskId: TaskId; readonly column: string }
  | { readonly type: "selected"; readonly at: number; readonly taskId: TaskId; readonly column: string }
  | {
    readonly type: "admission_blocked" | "group_capped"
    readonly at: number
    readonly queued: number
    readonly reasons: Readonly<Record<string, number>>
  }
  | {
    readonly type: "task_lease_acquired" | "task_lease_released"
    readonly at: number
    readonly taskId: TaskId
    readonly column: string
    readonly resources: ReadonlyArray<string>
  }
  | { readonly type: "worker_spawned"; readonly at: number; readonly taskId: TaskId; readonly column: string }
  | {
    readonly type: "task_completed"
    readonly at: number
    readonly taskId: TaskId
    readonly column: string
    readonly outcome: "success" | DropKind | "row_dropped"
    /** Rows the task wrote values for: 1 for a cell task, the surviving rows for a full-column task; 0 unless a success. */
    readonly rows: number
  }
  | {
    readonly type: "retry_deferred" | "preserved_retryable"
    readonly at: number
    readonly taskId: TaskId
    readonly column: string
    readonly kind: string
    readonly attempt: number
    readonly eligibleAt: number
  }
  | {
    readonly type: "retry_redispatched"
    readonly at: number
    readonly taskId: TaskId
    readonly column: string
    readonly attempt: number
  }
  | {
    readonly type: "row_dropped"
    readonly at: number
    readonly rowGroup: number
    readonly row: number
    readonly kind: DropKind
    readonly column?: string
  }
  | { readonly type: "cancelled"; readonly at: number; readonly taskId: TaskId; readonly column: string }

export type SchedulerEventType = SchedulerEvent["type"]
