/**
 * Internal sizes of a run, for tests and diagnostics. All are bounded by the admitted row groups.
 *
 * @since 0.1.0
 */
export interface SchedulerStats {
  readonly activeRowGroups: number
  readonly liveTasks: number
  readonly queuedTasks: number
  readonly queueHeapEntries: number
  readonly queueFifoSlots: number
  readonly retryingTasks: number
  readonly retryHeapEntries: number
  readonly runningTasks: number
  readonly taskLeases: number
  /** Permits held per scheduler resource and per group admitted limit (`group:<label>`). */
  readonly leasedByResource: Readonly<Record<string, number>>
  readonly limitByResource: Readonly<Record<string, number>>
  readonly debtEntries: number
  readonly checkpointedRowGroups: number
  /**
   * Progress without subscribing to events (which are only built while someone listens): Σ rows written by
   * successful tasks (1 per cell task, the surviving rows of a full-column task)…
   */
  readonly cellsCompleted: number
  /** …cells skipped by a column's `skip` (no task)… */
  readonly cellsSkipped: number
  /** …rows of checkpointed row groups (surviving and dropped)… */
  readonly checkpointedRows: number
  /** …and rows dropped so far. */
  readonly rowsDropped: number
}
