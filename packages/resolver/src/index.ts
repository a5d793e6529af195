/**
 * `@sluice/resolver`: what a generator's task needs — scheduling metadata, model alias
 * canonicalisation, task groups, scheduler resource requests and limits, and the capacity plan.
 * It knows nothing of runtime pressure.
 *
 * @since 0.1.0
 */
export {
  type CapacityDiagnostic,
  type CapacityPlan,
  type CapacityPlanEntry,
  type CapacitySource,
  formatCapacityPlan,
  recordRuntimeCapacity
} from "./CapacityPlan.js"
export { customModelMetadata, localMetadata, modelMetadata } from "./constructors.js"
export { decodeSchedulingMetadata } from "./decodeSchedulingMetadata.js"
export { MetadataDiagnostic } from "./MetadataDiagnostic.js"
export { aliasSetNamespace, aliasSetResource, metadataForModelAliases } from "./metadataForModelAliases.js"
export { describeMetadata, metadataIdentity, requestResourceOf } from "./metadataIdentity.js"
export { type GenerationKind, type ModelAlias, requestDomainOfGenerationKind } from "./ModelAlias.js"
export { resolveGenerator, type ResolvedGenerator, resourceRequestOf, taskGroupOf } from "./resolveGenerator.js"
export {
  defaultMaxInFlightTasks,
  effectiveOptions,
  type EffectiveOptions,
  modelGroupAdmissionMultiplier,
  type ResolveOptions,
  type SourcedValue
} from "./ResolveOptions.js"
export { ResolverConfigError } from "./ResolverConfigError.js"
export { type GeneratorScheduling, type ResolvedScheduling, resolveScheduling } from "./resolveScheduling.js"
export {
  CustomModelMetadata,
  LocalMetadata,
  ModelMetadata,
  SchedulingMetadata,
  type SchedulingMetadataKind,
  schedulingMetadataKinds
} from "./SchedulingMetadata.js"
export { SchedulingMetadataError, SchedulingMetadataErrorCode } from "./SchedulingMetadataError.js"
