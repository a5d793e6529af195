/**
 * `@sluice/request-admission`: adaptive, fair, leak-free admission for LLM provider calls.
 */
export { ModelRegistration, RequestAdmissionConfig, type RequestAdmissionConfigInput } from "./config.js"
export {
  type AcquireError,
  RequestAdmissionConfigError,
  RequestAdmissionCooldown,
  RequestAdmissionNoCapacity,
  RequestAdmissionQueueTimeout,
  RequestAdmissionShutdown,
  RequestAdmissionUnknownResource,
  type TryAcquireError
} from "./errors.js"
export {
  type AttemptContext,
  defaultExecutorConfig,
  execute,
  makeExecutor,
  type ModelRequest,
  ModelRequestExecutor,
  ModelRequestExecutorConfig,
  type ModelRequestExecutorConfigInput,
  type ModelRequestExecutorShape,
  outcomeOfAttempt
} from "./ModelRequestExecutor.js"
export {
  isProviderOutcome,
  ReleaseOutcome,
  type ReleaseOutcomeKind,
  type ReleaseResult,
  type RequestUsage
} from "./ReleaseOutcome.js"
export { make, RequestAdmission, type RequestAdmissionShape } from "./RequestAdmission.js"
export type {
  ModelRequestCompleted,
  ModelRequestStarted,
  RequestAcquireDenied,
  RequestAdmissionShutdownEvent,
  RequestBudgetWait,
  RequestCooldownEnded,
  RequestEvent,
  RequestEventOf,
  RequestEventTag,
  RequestFullyRecovered,
  RequestLeaseAcquired,
  RequestLeaseReleased,
  RequestLimitDecreased,
  RequestLimitIncreased,
  RequestRateLimited,
  RequestReleaseDiagnostic,
  RequestResourceRegistered,
  RequestSoftCeilingRecovered,
  RequestWaitCancelled,
  RequestWaitCompleted,
  RequestWaitStarted,
  RequestWaitTimeout
} from "./RequestEvent.js"
export type { RequestAdmissionItem, RequestLease } from "./RequestLease.js"
export type {
  ProviderModelBudget,
  ProviderModelPressure,
  RequestAdmissionInspection,
  RequestPressure
} from "./RequestPressure.js"
/** The capacity port the scheduler reads (defined in `@sluice/scheduling-resources`). */
export type { RequestCapacitySource, RequestCapacityView } from "@sluice/scheduling-resources"
