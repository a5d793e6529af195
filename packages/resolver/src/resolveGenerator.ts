import {
  llmWaitResource,
  providerModelKey,
  requestCapacityResource,
  type RequestResourceKey,
  type SchedulerResourceKey,
  type SchedulerResourceRequest,
  submissionResource,
  taskGroupFlow,
  taskGroupKey,
  type TaskGroupSpec
} from "@sluice/scheduling-resources"
import { metadataIdentity, requestResourceOf } from "./metadataIdentity.js"
import { modelGroupAdmissionMultiplier } from "./ResolveOptions.js"
import type { SchedulingMetadata } from "./SchedulingMetadata.js"

/**
 * What every task of one generator needs.
 *
 * @since 0.1.0
 */
export interface ResolvedGenerator {
  readonly generator: string
  /** The canonical metadata (the fallback when one was used). */
  readonly metadata: SchedulingMetadata
  readonly group: TaskGroupSpec
  readonly request: SchedulerResourceRequest
  /** The request-admission resource; model metadata only. */
  readonly requestResource?: RequestResourceKey
}

/**
 * The task group of a generator: its metadata identity plus its flow (its output columns), so every
 * generator is its own fairness group even when several share one model. Weight = max(1, weight);
 * model and custom-model groups are admitted at most max(1, min(cap, 2 × weight)) tasks at once,
 * local groups have no cap.
 *
 * @since 0.1.0
 */
export const taskGroupOf = (
  metadata: SchedulingMetadata,
  outputColumns: ReadonlyArray<string>,
  maxModelTaskAdmission: number
): TaskGroupSpec => {
  const key = taskGroupKey(metadata.kind, metadataIdentity(metadata), taskGroupFlow(outputColumns))
  const weight = Math.max(1, metadata.weight)
  return metadata.kind === "local"
    ? { key, weight }
    : {
      key,
      weight,
      admittedLimit: Math.max(1, Math.min(maxModelTaskAdmission, modelGroupAdmissionMultiplier * weight))
    }
}

/**
 * The scheduler resources one task holds: `submission: 1` always; model and custom-model tasks also
 * `llm_wait: 1`; model tasks also `request:{provider}/{model}: 1` (their domain is always a known
 * request domain, since metadata with another domain does not validate).
 *
 * @since 0.1.0
 */
export const resourceRequestOf = (metadata: SchedulingMetadata): SchedulerResourceRequest => {
  const request = new Map<SchedulerResourceKey, number>([[submissionResource, 1]])
  if (metadata.kind !== "local") request.set(llmWaitResource, 1)
  if (metadata.kind === "model") {
    request.set(requestCapacityResource(providerModelKey(metadata.provider, metadata.model)), 1)
  }
  return request
}

/**
 * Everything one generator's tasks need, from its validated metadata.
 *
 * @since 0.1.0
 */
export const resolveGenerator = (
  generator: string,
  metadata: SchedulingMetadata,
  outputColumns: ReadonlyArray<string>,
  maxModelTaskAdmission: number
): ResolvedGenerator => {
  const requestResource = requestResourceOf(metadata)
  return {
    generator,
    metadata,
    group: taskGroupOf(metadata, outputColumns, maxModelTaskAdmission),
    request: resourceRequestOf(metadata),
    ...(requestResource === undefined ? {} : { requestResource })
  }
}
