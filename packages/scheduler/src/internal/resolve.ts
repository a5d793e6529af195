import {
  type CapacityPlan,
  localMetadata,
  resolveScheduling as resolveWithResolver,
  type SchedulingMetadata
} from "@sluice/resolver"
import {
  llmWaitResource,
  type RequestResourceKey,
  submissionResource,
  type TaskGroupSpec
} from "@sluice/scheduling-resources"
import { Effect } from "effect"
import { SchedulerConfigError } from "../errors.js"
import type { Column } from "../Spec.js"

/**
 * The scheduler's view of `@sluice/resolver`'s answer: resources numbered for the admission ledger (0 =
 * `submission`, 1 = `llm_wait`, then one per `request:{provider}/{model}`), and per generator its task group,
 * the resource indexes its tasks hold, and its request-layer resource.
 */
export interface ResolvedGenerator {
  readonly spec: TaskGroupSpec
  readonly metadata: SchedulingMetadata
  /** Resource indexes this generator's tasks hold (amount 1 each). */
  readonly resources: ReadonlyArray<number>
  readonly requestResource?: RequestResourceKey
}

export interface ResourceTable {
  readonly keys: ReadonlyArray<string>
  readonly staticLimits: ReadonlyArray<number>
  /** For each `request:{p}/{m}` resource index, the request-layer resources (one per domain) feeding it. */
  readonly requestDomains: ReadonlyMap<number, ReadonlyArray<RequestResourceKey>>
  readonly capacityPlan: CapacityPlan
}

export const SUBMISSION = 0
export const LLM_WAIT = 1

export const resolveScheduling = Effect.fnUntraced(function*<R>(
  columns: ReadonlyArray<Column<R>>,
  options: { readonly maxInFlightTasks?: number | undefined; readonly maxModelTaskAdmission?: number | undefined },
  limits: { readonly maxInFlightTasks: number; readonly maxModelTaskAdmission: number }
): Effect.fn.Return<
  { readonly generators: ReadonlyArray<ResolvedGenerator>; readonly resources: ResourceTable },
  SchedulerConfigError
> {
  const resolved = yield* resolveWithResolver(
    columns.map((column) => ({
      generator: column.name,
      outputColumns: column.outputs ?? [column.name],
      metadata: column.scheduling ?? localMetadata()
    })),
    { maxInFlightTasks: options.maxInFlightTasks, maxModelTaskAdmission: options.maxModelTaskAdmission }
  ).pipe(
    Effect.mapError((error) => {
      const index = columns.findIndex((c) => c.name === error.generator)
      const field = index < 0 ? error.field : `columns[${index}].scheduling.${error.field}`
      return new SchedulerConfigError({ field, reason: "invalid_value", message: error.message })
    })
  )
  const keys: Array<string> = [submissionResource, llmWaitResource]
  const staticLimits: Array<number> = [
    resolved.limits.get(submissionResource) ?? limits.maxInFlightTasks,
    resolved.limits.get(llmWaitResource) ?? limits.maxModelTaskAdmission
  ]
  for (const [key, limit] of resolved.limits) {
    if (key === submissionResource || key === llmWaitResource) continue
    keys.push(key)
    staticLimits.push(limit)
  }
  const requestDomains = new Map<number, Array<RequestResourceKey>>()
  const generators = columns.map((column): ResolvedGenerator => {
    const g = resolved.generators.get(column.name)!
    const resources = [...g.request.keys()].map((key) => keys.indexOf(key))
    if (g.requestResource !== undefined) {
      const requestIndex = resources.find((r) => r > LLM_WAIT)!
      const domains = requestDomains.get(requestIndex) ?? []
      if (!domains.some((d) => d.domain === g.requestResource!.domain)) domains.push(g.requestResource)
      requestDomains.set(requestIndex, domains)
    }
    return {
      spec: g.group,
      metadata: g.metadata,
      resources,
      ...(g.requestResource === undefined ? {} : { requestResource: g.requestResource })
    }
  })
  return { generators, resources: { keys, staticLimits, requestDomains, capacityPlan: resolved.capacityPlan } }
})
