import {
  llmWaitResource,
  providerModelKey,
  requestCapacityResource,
  type SchedulerResourceKey,
  type SchedulerResourceLimits,
  submissionResource,
  taskGroupLabel
} from "@sluice/scheduling-resources"
import { Effect, Predicate } from "effect"
import type { CapacityDiagnostic, CapacityPlan, CapacityPlanEntry } from "./CapacityPlan.js"
import { decodeSchedulingMetadata } from "./decodeSchedulingMetadata.js"
import { describeMetadata } from "./metadataIdentity.js"
import {
  effectiveOptions,
  modelGroupAdmissionMultiplier,
  type ResolveOptions,
  type SourcedValue
} from "./ResolveOptions.js"
import { type ResolvedGenerator, resolveGenerator } from "./resolveGenerator.js"
import { ResolverConfigError } from "./ResolverConfigError.js"
import type { SchedulingMetadata } from "./SchedulingMetadata.js"
import { SchedulingMetadataError } from "./SchedulingMetadataError.js"

/**
 * One generator of a run as the resolver sees it. `metadata` is whatever the generator's own
 * derivation produced: metadata (validated here), any unvalidated value to decode, or a
 * `SchedulingMetadataError` (used through its fallback when it carries one, fatal otherwise).
 *
 * @since 0.1.0
 */
export interface GeneratorScheduling {
  readonly generator: string
  readonly outputColumns: ReadonlyArray<string>
  readonly metadata: SchedulingMetadata | SchedulingMetadataError | unknown
}

/**
 * The scheduling of a whole run: what each generator's tasks need, the limit of each scheduler
 * resource, and the capacity plan explaining every value.
 *
 * @since 0.1.0
 */
export interface ResolvedScheduling {
  readonly generators: ReadonlyMap<string, ResolvedGenerator>
  readonly limits: SchedulerResourceLimits
  readonly capacityPlan: CapacityPlan
}

interface Canonical {
  readonly metadata: SchedulingMetadata
  /** The fallback of a metadata error was used: its values are defaults, not the generator's metadata. */
  readonly fallback: boolean
}

const isMetadataError = (u: unknown): u is SchedulingMetadataError => Predicate.isTagged(u, "SchedulingMetadataError")

const withGenerator = (error: SchedulingMetadataError, generator: string): SchedulingMetadataError =>
  error.generator !== undefined
    ? error
    : new SchedulingMetadataError({
      code: error.code,
      field: error.field,
      message: `Generator ${JSON.stringify(generator)}: ${error.message}`,
      generator,
      ...(error.fallback === undefined ? {} : { fallback: error.fallback })
    })

const canonicalMetadata = Effect.fnUntraced(function*(
  generator: GeneratorScheduling,
  diagnostics: Array<CapacityDiagnostic>
): Effect.fn.Return<Canonical, SchedulingMetadataError> {
  const input = generator.metadata
  if (!isMetadataError(input)) {
    return { metadata: yield* decodeSchedulingMetadata(input, generator.generator), fallback: false }
  }
  if (input.fallback === undefined) return yield* withGenerator(input, generator.generator)
  // The fallback came from outside (or over the wire): validate it like any other metadata.
  const fallback = yield* decodeSchedulingMetadata(input.fallback, generator.generator)
  diagnostics.push({
    generator: generator.generator,
    code: input.code,
    message: `${input.message} (field ${input.field}); using fallback ${describeMetadata(fallback)}`
  })
  return { metadata: fallback, fallback: true }
})

const checkGenerator = (
  generator: GeneratorScheduling,
  index: number,
  seen: ReadonlySet<string>
): ResolverConfigError | undefined => {
  const at = `generators[${index}]`
  const name: unknown = generator.generator
  if (typeof name !== "string" || name.length === 0) {
    return new ResolverConfigError({ field: `${at}.generator`, message: `${at}.generator: expected a non-empty name` })
  }
  if (seen.has(name)) {
    return new ResolverConfigError({
      field: `${at}.generator`,
      message: `${at}.generator: generator ${JSON.stringify(name)} is listed twice`,
      generator: name
    })
  }
  const columns: unknown = generator.outputColumns
  if (!Array.isArray(columns) || columns.length === 0 || columns.some((c) => typeof c !== "string" || c.length === 0)) {
    return new ResolverConfigError({
      field: `${at}.outputColumns`,
      message: `${at}.outputColumns: generator ${
        JSON.stringify(name)
      } needs at least one output column, each a non-empty name`,
      generator: name
    })
  }
  return undefined
}

const entry = (
  name: string,
  value: number,
  source: CapacityPlanEntry["source"],
  detail: string
): CapacityPlanEntry => ({
  name,
  value,
  source,
  detail
})

const groupEntries = (
  resolved: ResolvedGenerator,
  fallback: boolean,
  cap: SourcedValue
): ReadonlyArray<CapacityPlanEntry> => {
  const { group, metadata } = resolved
  const name = `group:${taskGroupLabel(group.key)}`
  const entries = [
    fallback
      ? entry(`${name}.weight`, group.weight, "default", `fallback ${metadata.kind} metadata of ${resolved.generator}`)
      : entry(`${name}.weight`, group.weight, "model_metadata", `${metadata.kind} metadata of ${resolved.generator}`)
  ]
  if (group.admittedLimit !== undefined) {
    const backlog = modelGroupAdmissionMultiplier * group.weight
    entries.push(
      backlog <= cap.value
        ? entry(
          `${name}.admittedLimit`,
          group.admittedLimit,
          fallback ? "default" : "model_metadata",
          `${modelGroupAdmissionMultiplier} × weight ${group.weight}`
        )
        : entry(
          `${name}.admittedLimit`,
          group.admittedLimit,
          cap.source,
          `${cap.detail} (< ${modelGroupAdmissionMultiplier} × weight ${group.weight})`
        )
    )
  }
  return entries
}

const compareStrings = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0)

/**
 * Resolves the scheduling of a run.
 *
 * - Each generator's metadata is validated (or its error's fallback used and reported in
 *   `capacityPlan.diagnostics`; an error without fallback fails the whole resolution).
 * - Limits: `submission` = `maxInFlightTasks` (default 1024); `llm_wait` = `maxModelTaskAdmission`
 *   (default `maxInFlightTasks`); `request:{provider}/{model}` = the smallest weight among the model
 *   generators on that provider/model, whatever their domain (chat and embedding share one key).
 * - The capacity plan lists `submission`, `llm_wait`, each `request:` key (sorted), then for each
 *   generator in order `group:<label>.weight` and, for model groups, `group:<label>.admittedLimit`,
 *   each with its source.
 *
 * Fails with `ResolverConfigError` on invalid options, an empty or duplicate generator name, or a
 * generator without output columns.
 *
 * @since 0.1.0
 */
export const resolveScheduling = Effect.fnUntraced(function*(
  generators: ReadonlyArray<GeneratorScheduling>,
  options: ResolveOptions = {}
): Effect.fn.Return<ResolvedScheduling, SchedulingMetadataError | ResolverConfigError> {
  const { maxInFlightTasks, maxModelTaskAdmission } = yield* effectiveOptions(options)

  const seen = new Set<string>()
  for (const [index, generator] of generators.entries()) {
    const invalid = checkGenerator(generator, index, seen)
    if (invalid !== undefined) return yield* invalid
    seen.add(generator.generator)
  }

  const diagnostics: Array<CapacityDiagnostic> = []
  const resolved = new Map<string, ResolvedGenerator>()
  const groups: Array<CapacityPlanEntry> = []
  // request key → the smallest weight so far, and who is on that endpoint (for the plan's detail)
  const requestLimits = new Map<SchedulerResourceKey, { value: number; users: Array<string> }>()

  for (const generator of generators) {
    const { fallback, metadata } = yield* canonicalMetadata(generator, diagnostics)
    for (const note of metadata.diagnostics ?? []) {
      diagnostics.push({ generator: generator.generator, code: note.code, message: note.message })
    }
    const result = resolveGenerator(generator.generator, metadata, generator.outputColumns, maxModelTaskAdmission.value)
    resolved.set(generator.generator, result)
    groups.push(...groupEntries(result, fallback, maxModelTaskAdmission))
    if (metadata.kind === "model") {
      const key = requestCapacityResource(providerModelKey(metadata.provider, metadata.model))
      const weight = result.group.weight
      const current = requestLimits.get(key)
      const users = [...(current?.users ?? []), `${generator.generator} (${metadata.domain}, ${weight})`]
      requestLimits.set(key, { value: Math.min(current?.value ?? weight, weight), users })
    }
  }

  const limits = new Map<SchedulerResourceKey, number>([
    [submissionResource, maxInFlightTasks.value],
    [llmWaitResource, maxModelTaskAdmission.value]
  ])
  const entries: Array<CapacityPlanEntry> = [
    entry(submissionResource, maxInFlightTasks.value, maxInFlightTasks.source, maxInFlightTasks.detail),
    entry(llmWaitResource, maxModelTaskAdmission.value, maxModelTaskAdmission.source, maxModelTaskAdmission.detail)
  ]
  for (const key of [...requestLimits.keys()].sort(compareStrings)) {
    const { users, value } = requestLimits.get(key)!
    limits.set(key, value)
    entries.push(entry(key, value, "model_metadata", `min weight over ${users.join(", ")}`))
  }
  entries.push(...groups)

  return { generators: resolved, limits, capacityPlan: { entries, diagnostics } }
})
