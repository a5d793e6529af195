/**
 * `@sluice/scheduler`: the async DAG scheduler of Sluice — row groups, a fair ready queue, task admission with
 * bounded borrow, live request capacity, a retry ledger and checkpoints. It never drops a row to local pressure.
 *
 * @since 0.1.0
 */
export {
  type CapacityPlan,
  customModelMetadata,
  localMetadata,
  modelMetadata,
  type SchedulingMetadata,
  SchedulingMetadataError
} from "@sluice/resolver"
export {
  CheckpointWriteError,
  GeneratorError,
  SchedulerConfigError,
  type SchedulerConfigReason,
  SchedulerDeadlockError,
  type SchedulerRunError
} from "./errors.js"
export type { SchedulerEvent, SchedulerEventType } from "./Events.js"
export { makeScheduler, runScheduler, type Scheduler, type SchedulerStats } from "./Scheduler.js"
export {
  type AdmissionPolicyName,
  type BatchInput,
  type CellColumn,
  type CellInput,
  type Checkpoint,
  type CheckpointSink,
  type Column,
  type DropCause,
  type DropKind,
  type DroppedRow,
  type EarlyShutdownOptions,
  type FullColumn,
  type GenerationFailure,
  type RetryOptions,
  type RowValues,
  type RuntimeRequestLimit,
  type SchedulerOptions,
  type SchedulerResult,
  type SchedulerSpec
} from "./Spec.js"
/** The capacity port `requestCapacity` reads (defined in `@sluice/scheduling-resources`). */
export type { RequestCapacitySource, RequestCapacityView } from "@sluice/scheduling-resources"
