import type { RequestDomain } from "@sluice/scheduling-resources"
import { RequestDomain as RequestDomainSchema, ResourceAmount } from "@sluice/scheduling-resources"
import { Schema } from "effect"
import { MetadataDiagnostic } from "./MetadataDiagnostic.js"

/**
 * A generator that makes no model call (samplers, templates…): it only needs a task slot.
 *
 * @since 0.1.0
 */
export interface LocalMetadata {
  readonly kind: "local"
  readonly resource: string
  readonly weight: number
  readonly diagnostics?: ReadonlyArray<MetadataDiagnostic>
}

/**
 * A generator whose calls all go to one provider/model in one request domain. Its weight is the
 * endpoint's effective `maxParallelRequests`.
 *
 * @since 0.1.0
 */
export interface ModelMetadata {
  readonly kind: "model"
  readonly provider: string
  readonly model: string
  readonly domain: RequestDomain
  readonly weight: number
  readonly diagnostics?: ReadonlyArray<MetadataDiagnostic>
}

/**
 * A generator that calls models in a way the resolver cannot pin to one endpoint (user code, or
 * aliases on several endpoints): it holds an `llm_wait` slot but no request resource.
 *
 * @since 0.1.0
 */
export interface CustomModelMetadata {
  readonly kind: "custom_model"
  readonly namespace: string
  readonly resource: string
  readonly version: string
  readonly weight: number
  readonly diagnostics?: ReadonlyArray<MetadataDiagnostic>
}

/**
 * What a generator declares about the work its tasks do. `diagnostics` is optional and
 * carries notes from the derivation (see {@link MetadataDiagnostic}); it is not part of the identity.
 *
 * @since 0.1.0
 */
export type SchedulingMetadata = LocalMetadata | ModelMetadata | CustomModelMetadata

/**
 * The kinds of scheduling metadata, which are also the task group kinds.
 *
 * @since 0.1.0
 */
export type SchedulingMetadataKind = SchedulingMetadata["kind"]

/**
 * Every metadata kind, in declaration order.
 *
 * @since 0.1.0
 */
export const schedulingMetadataKinds: ReadonlyArray<SchedulingMetadataKind> = ["local", "model", "custom_model"]

// A positive safe integer: booleans, NaN, infinities and fractions are all rejected.
const Weight = ResourceAmount
const diagnostics = Schema.optionalKey(Schema.Array(MetadataDiagnostic))

/**
 * Schema of {@link LocalMetadata}.
 *
 * @since 0.1.0
 */
export const LocalMetadata = Schema.Struct({
  kind: Schema.Literal("local"),
  resource: Schema.NonEmptyString,
  weight: Weight,
  diagnostics
})

/**
 * Schema of {@link ModelMetadata}.
 *
 * @since 0.1.0
 */
export const ModelMetadata = Schema.Struct({
  kind: Schema.Literal("model"),
  provider: Schema.NonEmptyString,
  model: Schema.NonEmptyString,
  domain: RequestDomainSchema,
  weight: Weight,
  diagnostics
})

/**
 * Schema of {@link CustomModelMetadata}.
 *
 * @since 0.1.0
 */
export const CustomModelMetadata = Schema.Struct({
  kind: Schema.Literal("custom_model"),
  namespace: Schema.NonEmptyString,
  resource: Schema.NonEmptyString,
  version: Schema.NonEmptyString,
  weight: Weight,
  diagnostics
})

/**
 * Schema of {@link SchedulingMetadata}: non-empty identity strings, a known request domain, and a
 * weight that is a positive integer. Use `decodeSchedulingMetadata` for a typed error naming the field.
 *
 * @since 0.1.0
 */
export const SchedulingMetadata: Schema.Codec<SchedulingMetadata> = Schema.Union([
  LocalMetadata,
  ModelMetadata,
  CustomModelMetadata
])
