/**
 * `@sluice/scheduler`: the async DAG scheduler of Sluice — row groups, a fair ready queue, task admission with
 * bounded borrow, live request capacity, a retry ledger and checkpoints. It never drops a row to local pressure.
 * Scheduling metadata and its resolution come from `@sluice/resolver`.
 *
 * @since 0.1.0
 */
export { resolveColumnScheduling } from "./columnScheduling.js"
export {
  SchedulerCheckpointWriteError,
  SchedulerConfigError,
  SchedulerConfigReason,
  SchedulerDeadlockError,
  SchedulerGeneratorError,
  SchedulerProcessorError,
  type SchedulerRunError
} from "./errors.js"
export { makeScheduler, runScheduler, type Scheduler } from "./Scheduler.js"
export type { SchedulerEvent, SchedulerEventTag } from "./SchedulerEvent.js"
export {
  AdmissionPolicyName,
  type DecodedSchedulerOptions,
  EarlyShutdownOptions,
  RetryOptions,
  SchedulerOptions
} from "./SchedulerOptions.js"
export type { SchedulerStats } from "./SchedulerStats.js"
export type {
  BatchInput,
  CellColumn,
  CellInput,
  Checkpoint,
  CheckpointSink,
  Column,
  DropCause,
  DropKind,
  DroppedRow,
  FullColumn,
  GenerationFailure,
  ProcessorInput,
  ProcessorStage,
  RowProcessor,
  RowValues,
  RuntimeRequestLimit,
  SchedulerResult,
  SchedulerSpec,
  SchedulerStop
} from "./Spec.js"
/** The capacity port `requestCapacity` reads (defined in `@sluice/scheduling-resources`). */
export type { RequestCapacitySource, RequestCapacityView } from "@sluice/scheduling-resources"
