import { Effect } from "effect"
import type { SchedulerStats } from "../SchedulerStats.js"
import type { RunState } from "./runState.js"

export const emptyStats: SchedulerStats = {
  activeRowGroups: 0,
  liveTasks: 0,
  queuedTasks: 0,
  queueHeapEntries: 0,
  queueFifoSlots: 0,
  retryingTasks: 0,
  retryHeapEntries: 0,
  runningTasks: 0,
  taskLeases: 0,
  leasedByResource: {},
  limitByResource: {},
  debtEntries: 0,
  checkpointedRowGroups: 0,
  cellsCompleted: 0,
  cellsSkipped: 0,
  checkpointedRows: 0,
  rowsDropped: 0
}

export const gatesOf = <R>(state: RunState<R>) =>
  [...state.ledger.gates, ...state.ledger.groupGates].filter((gate) => gate !== undefined)

export const statsOf = Effect.fnUntraced(function*<R>(state: RunState<R>) {
  const q = state.queue.stats()
  const leasedByResource: Record<string, number> = {}
  const limitByResource: Record<string, number> = {}
  for (const gate of gatesOf(state)) {
    leasedByResource[gate.key] = yield* gate.leased
    limitByResource[gate.key] = gate.limit
  }
  const stats: SchedulerStats = {
    activeRowGroups: state.active.size,
    liveTasks: state.tasks.size,
    queuedTasks: q.queued,
    queueHeapEntries: q.heapEntries,
    queueFifoSlots: q.fifoSlots,
    retryingTasks: state.retries.size,
    retryHeapEntries: state.retries.heapEntries(),
    runningTasks: state.running,
    // Every task holds one `submission` permit.
    taskLeases: yield* state.ledger.gates[0]!.leased,
    leasedByResource,
    limitByResource,
    debtEntries: state.ledger.debtEntries(),
    checkpointedRowGroups: state.checkpointed,
    cellsCompleted: state.cellsCompleted,
    cellsSkipped: state.cellsSkipped,
    checkpointedRows: state.checkpointedRows,
    rowsDropped: state.droppedRows.length
  }
  return stats
})
