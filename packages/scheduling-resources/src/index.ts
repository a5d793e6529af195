/**
 * `@sluice/scheduling-resources`: the shared identities and resource vocabulary of Sluice.
 *
 * @since 0.1.0
 */
export { isRequestDomain, RequestDomain, requestDomains } from "./RequestDomain.js"

export {
  makeProviderModelKey,
  parseProviderModelLabel,
  ProviderModelKey,
  providerModelKey,
  ProviderModelKeyOrder,
  providerModelLabel
} from "./ProviderModelKey.js"

export {
  makeRequestResourceKey,
  parseRequestResourceLabel,
  RequestResourceKey,
  requestResourceKey,
  RequestResourceKeyOrder,
  requestResourceLabel,
  toProviderModelKey
} from "./RequestResourceKey.js"

export {
  llmWaitResource,
  makeSchedulerResourceKey,
  parseRequestCapacityResource,
  parseRequestDomainResource,
  requestCapacityResource,
  requestDomainResource,
  SchedulerResourceKey,
  submissionResource
} from "./SchedulerResourceKey.js"

export { ResourceAmount } from "./ResourceAmount.js"

export {
  checkRequestWithinLimits,
  makeSchedulerResourceLimits,
  makeSchedulerResourceRequest,
  type SchedulerResourceEntries,
  type SchedulerResourceLimits,
  type SchedulerResourceRequest
} from "./SchedulerResourceRequest.js"

export {
  makeTaskGroupKey,
  makeTaskGroupSpec,
  TaskGroupKey,
  taskGroupFlow,
  TaskGroupKind,
  taskGroupKey,
  taskGroupKinds,
  taskGroupLabel,
  TaskGroupSpec
} from "./TaskGroup.js"

export { makeTaskRef, parseTaskId, TaskId, taskId, TaskRef, TaskType, taskTypes } from "./TaskId.js"

export type { RequestCapacitySource, RequestCapacityView } from "./RequestCapacity.js"

export { ResourceValidationError } from "./ResourceValidationError.js"
