import {
  isRequestDomain,
  llmWaitResource,
  providerModelKey,
  requestCapacityResource,
  type RequestResourceKey,
  requestResourceKey,
  submissionResource,
  taskGroupFlow,
  taskGroupKey,
  type TaskGroupSpec
} from "@sluice/scheduling-resources"
import { Effect } from "effect"
import { SchedulerConfigError } from "../errors.js"
import type { Column, SchedulingMetadata } from "../Spec.js"

/**
 * The scheduler's own resolution of scheduling metadata, following DESIGN §4 (task group = metadata identity +
 * the generator's output columns; model groups admitted up to max(1, min(cap, 2 × weight)); `request:{p}/{m}`
 * limited by the smallest weight on that endpoint). It stands in for `@sluice/resolver` until that lands.
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
  readonly sources: ReadonlyArray<"default" | "config" | "model_metadata">
  /** For each `request:{p}/{m}` resource index, the request-layer resources (one per domain) feeding it. */
  readonly requestDomains: ReadonlyMap<number, ReadonlyArray<RequestResourceKey>>
}

export const SUBMISSION = 0
export const LLM_WAIT = 1

const isPositiveInt = (u: unknown): u is number => typeof u === "number" && Number.isInteger(u) && u >= 1
const isNonEmptyString = (u: unknown): u is string => typeof u === "string" && u.length > 0

const invalid = (field: string, message: string) =>
  Effect.fail(new SchedulerConfigError({ field, reason: "invalid_value", message }))

export const resolveScheduling = Effect.fnUntraced(function*<R>(
  columns: ReadonlyArray<Column<R>>,
  limits: { readonly maxInFlightTasks: number; readonly maxModelTaskAdmission: number; readonly inFlightFromConfig: boolean }
): Effect.fn.Return<
  { readonly generators: ReadonlyArray<ResolvedGenerator>; readonly resources: ResourceTable },
  SchedulerConfigError
> {
  const keys: Array<string> = [submissionResource, llmWaitResource]
  const staticLimits: Array<number> = [limits.maxInFlightTasks, limits.maxModelTaskAdmission]
  const source = limits.inFlightFromConfig ? "config" as const : "default" as const
  const sources: Array<"default" | "config" | "model_metadata"> = [source, source]
  const requestDomains = new Map<number, Array<RequestResourceKey>>()
  const generators: Array<ResolvedGenerator> = []
  for (let i = 0; i < columns.length; i++) {
    const column = columns[i]!
    const metadata: SchedulingMetadata = column.scheduling ?? { kind: "local", resource: "default", weight: 1 }
    const field = `columns[${i}].scheduling`
    if (!isPositiveInt(metadata.weight)) {
      return yield* invalid(`${field}.weight`, `Expected a positive integer weight, got ${String(metadata.weight)}`)
    }
    const flow = taskGroupFlow(column.outputs ?? [column.name])
    const weight = Math.max(1, metadata.weight)
    const admittedLimit = Math.max(1, Math.min(limits.maxModelTaskAdmission, 2 * weight))
    switch (metadata.kind) {
      case "local": {
        if (!isNonEmptyString(metadata.resource)) return yield* invalid(`${field}.resource`, "Expected a non-empty resource")
        generators.push({
          spec: { key: taskGroupKey("local", `local/${metadata.resource}`, flow), weight },
          metadata,
          resources: [SUBMISSION]
        })
        break
      }
      case "custom_model": {
        for (const f of ["namespace", "resource", "version"] as const) {
          if (!isNonEmptyString(metadata[f])) return yield* invalid(`${field}.${f}`, `Expected a non-empty ${f}`)
        }
        generators.push({
          spec: {
            key: taskGroupKey("custom_model", `${metadata.namespace}/${metadata.resource}/${metadata.version}`, flow),
            weight,
            admittedLimit
          },
          metadata,
          resources: [SUBMISSION, LLM_WAIT]
        })
        break
      }
      case "model": {
        for (const f of ["provider", "model"] as const) {
          if (!isNonEmptyString(metadata[f])) return yield* invalid(`${field}.${f}`, `Expected a non-empty ${f}`)
        }
        if (!isRequestDomain(metadata.domain)) {
          return yield* invalid(`${field}.domain`, `Expected a request domain, got ${String(metadata.domain)}`)
        }
        const key = requestCapacityResource(providerModelKey(metadata.provider, metadata.model))
        let index = keys.indexOf(key)
        if (index < 0) {
          index = keys.length
          keys.push(key)
          staticLimits.push(weight)
          sources.push("model_metadata")
          requestDomains.set(index, [])
        } else {
          staticLimits[index] = Math.min(staticLimits[index]!, weight)
        }
        const requestResource = requestResourceKey(metadata.provider, metadata.model, metadata.domain)
        const domains = requestDomains.get(index)!
        if (!domains.some((d) => d.domain === requestResource.domain)) domains.push(requestResource)
        generators.push({
          spec: {
            key: taskGroupKey("model", `${metadata.provider}/${metadata.model}/${metadata.domain}`, flow),
            weight,
            admittedLimit
          },
          metadata,
          resources: [SUBMISSION, LLM_WAIT, index],
          requestResource
        })
        break
      }
      default:
        return yield* invalid(`${field}.kind`, `Expected "local", "model" or "custom_model"`)
    }
  }
  return { generators, resources: { keys, staticLimits, sources, requestDomains } }
})
