import type { CapacityPlan, ResolvedScheduling } from "@sluice/resolver"
import {
  llmWaitResource,
  parseRequestCapacityResource,
  providerModelLabel,
  type RequestResourceKey,
  requestDomainResource,
  submissionResource,
  taskGroupFlow,
  type TaskGroupSpec,
  toProviderModelKey
} from "@sluice/scheduling-resources"
import { Effect, Option } from "effect"
import { SchedulerConfigError } from "../errors.js"
import type { DecodedSchedulerOptions } from "../SchedulerOptions.js"
import type { Column } from "../Spec.js"

export const SUBMISSION = 0
export const LLM_WAIT = 1

/** One provider/model: its static aggregate gate and one live gate per request domain its generators use. */
export interface Endpoint {
  readonly label: string
  readonly aggregate: number
  readonly staticLimit: number
  readonly domains: Array<{ readonly key: RequestResourceKey; readonly resource: number }>
}

/** What every task of one column holds while it runs. */
export interface ColumnResources {
  readonly group: TaskGroupSpec
  /** Resource indexes, one permit each: the resolver's request, each `request:` key followed by its domain's gate. */
  readonly resources: ReadonlyArray<number>
  readonly requestResource: RequestResourceKey | undefined
}

/**
 * The resolver's scheduling laid out for the admission ledger: resources numbered (0 = `submission`, 1 =
 * `llm_wait`, then the other keys of the resolver's limits, and — when the request layer's live capacity is
 * followed — a `request:{provider}/{model}/{domain}` gate for every domain in use under its provider/model's
 * aggregate), their static limits, and per column its group and the resource indexes its tasks hold.
 */
export interface ResourceTable {
  readonly keys: ReadonlyArray<string>
  readonly limits: ReadonlyArray<number>
  readonly columns: ReadonlyArray<ColumnResources>
  readonly endpoints: ReadonlyArray<Endpoint>
  readonly capacityPlan: CapacityPlan
}

const invalid = (field: string, message: string) =>
  new SchedulerConfigError({ field, reason: "invalid_value", message })

const checkLimit = (
  field: "maxInFlightTasks" | "maxModelTaskAdmission",
  resource: string,
  option: number | undefined,
  limit: number | undefined
): SchedulerConfigError | undefined =>
  option === undefined || option === limit
    ? undefined
    : invalid(
      field,
      `${field} is ${option} but the resolved scheduling's ${resource} limit is ${String(limit)}: resolve the ` +
        `scheduling with the same ${field}, or leave it out here`
    )

/** Lays out a resolved scheduling for these columns, checking that it was resolved for them. */
export const resourceTableOf = Effect.fnUntraced(function*<R>(
  columns: ReadonlyArray<Column<R>>,
  scheduling: ResolvedScheduling,
  options: DecodedSchedulerOptions
): Effect.fn.Return<ResourceTable, SchedulerConfigError> {
  const limits = scheduling.limits
  const mismatch =
    checkLimit("maxInFlightTasks", submissionResource, options.maxInFlightTasks, limits.get(submissionResource))
      ?? checkLimit(
        "maxModelTaskAdmission",
        llmWaitResource,
        options.maxModelTaskAdmission,
        limits.get(llmWaitResource)
      )
  if (mismatch !== undefined) return yield* mismatch
  const keys: Array<string> = [submissionResource, llmWaitResource]
  const staticLimits: Array<number> = []
  for (const key of keys) {
    const limit = limits.get(key as never)
    if (limit === undefined) return yield* invalid("scheduling.limits", `The resolved scheduling has no ${key} limit`)
    staticLimits.push(limit)
  }
  for (const [key, limit] of limits) {
    if (key === submissionResource || key === llmWaitResource) continue
    keys.push(key)
    staticLimits.push(limit)
  }
  const endpoints = new Map<string, Endpoint>()
  const laidOut: Array<ColumnResources> = []
  for (let i = 0; i < columns.length; i++) {
    const column = columns[i]!
    const resolved = scheduling.generators.get(column.name)
    if (resolved === undefined) {
      return yield* invalid("scheduling", `The resolved scheduling has no generator "${column.name}" (columns[${i}])`)
    }
    const flow = taskGroupFlow(column.outputs ?? [column.name])
    if (resolved.group.key.flow !== flow) {
      return yield* invalid(
        `columns[${i}].outputs`,
        `The resolved scheduling of "${column.name}" is for output columns "${resolved.group.key.flow}", not "${flow}"`
      )
    }
    const resources: Array<number> = []
    for (const [key, amount] of resolved.request) {
      const index = keys.indexOf(key)
      if (index < 0) {
        return yield* invalid("scheduling.limits", `The resolved scheduling has no limit for ${key} ("${column.name}")`)
      }
      if (amount !== 1) {
        return yield* invalid(
          `scheduling.generators.${column.name}.request`,
          `Tasks hold one permit of each resource; "${column.name}" asks for ${amount} of ${key}`
        )
      }
      resources.push(index)
      const endpointKey = parseRequestCapacityResource(key)
      const requestResource = resolved.requestResource
      if (Option.isNone(endpointKey) || requestResource === undefined) continue
      const label = providerModelLabel(endpointKey.value)
      if (label !== providerModelLabel(toProviderModelKey(requestResource))) continue
      let endpoint = endpoints.get(label)
      if (endpoint === undefined) {
        endpoint = { label, aggregate: index, staticLimit: staticLimits[index]!, domains: [] }
        endpoints.set(label, endpoint)
      }
      // Without live capacity a domain's gate would only repeat its provider/model's static one.
      if (options.requestCapacity === undefined) continue
      let domain = endpoint.domains.find((d) => d.key.domain === requestResource.domain)
      if (domain === undefined) {
        // Until the request layer reports it, a domain's gate is as wide as its provider/model.
        domain = { key: requestResource, resource: keys.length }
        keys.push(requestDomainResource(requestResource))
        staticLimits.push(endpoint.staticLimit)
        endpoint.domains.push(domain)
      }
      resources.push(domain.resource)
    }
    laidOut.push({ group: resolved.group, resources, requestResource: resolved.requestResource })
  }
  return {
    keys,
    limits: staticLimits,
    columns: laidOut,
    endpoints: [...endpoints.values()],
    capacityPlan: scheduling.capacityPlan
  }
})
