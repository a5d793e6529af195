import type { RetryPolicy } from "@sluice/errors"
import type { TaskId, TaskType } from "@sluice/scheduling-resources"
import type { DropKind, GenerationFailure } from "../Spec.js"

/**
 * One unit of work and its lifecycle, owned by the dispatcher. A task lives only while it is queued, running or
 * waiting in the retry ledger; a drop or a completion ends it, so every state is purged the same way.
 */
export type TaskState = "queued" | "running" | "retrying" | "discarded" | "done"

export interface Task {
  readonly id: TaskId
  readonly generator: number
  readonly rowGroup: number
  /** Index inside the row group; -1 for `from_scratch` and `batch`. */
  readonly rowIndex: number
  readonly type: TaskType
  state: TaskState
  /** Incremented at each dispatch: a worker's exit only counts for the dispatch that spawned it. */
  dispatch: number
  attempts: number
  /** Number of the task's live retry-ledger entry; older entries (re-timed by `expedite`) are stale. */
  retryEntry: number
  /** Clock millis of the first failure of the current preserve streak (for the optional preserve deadline). */
  preserveSince: number
  readyAt: number
  lastError: GenerationFailure | undefined
  /** Kind and policy of the latest failure (what a retrying task waits out). */
  lastKind: DropKind | undefined
  lastPolicy: RetryPolicy | undefined
  /** Message of the latest failure. */
  lastMessage: string
}

export const makeTask = (
  id: TaskId,
  generator: number,
  rowGroup: number,
  rowIndex: number,
  type: TaskType,
  readyAt: number
): Task => ({
  id,
  generator,
  rowGroup,
  rowIndex,
  type,
  state: "queued",
  dispatch: 0,
  attempts: 0,
  retryEntry: 0,
  preserveSince: -1,
  readyAt,
  lastError: undefined,
  lastKind: undefined,
  lastPolicy: undefined,
  lastMessage: ""
})
