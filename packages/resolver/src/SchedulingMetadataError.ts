import { Schema } from "effect"
import { SchedulingMetadata } from "./SchedulingMetadata.js"

/**
 * Why a generator's scheduling metadata could not be derived or validated.
 *
 * @since 0.1.0
 */
export type SchedulingMetadataErrorCode =
  | "invalid_kind"
  | "invalid_identity"
  | "invalid_weight"
  | "missing_model_alias"
  | "alias_resolution_failed"
  | "unknown_generation_kind"

/**
 * Schema of a {@link SchedulingMetadataErrorCode}.
 *
 * @since 0.1.0
 */
export const SchedulingMetadataErrorCode = Schema.Literals([
  "invalid_kind",
  "invalid_identity",
  "invalid_weight",
  "missing_model_alias",
  "alias_resolution_failed",
  "unknown_generation_kind"
])

/**
 * Invalid or underivable scheduling metadata. `field` names the offending field (`weight`,
 * `provider`, `aliasNames[1]`…). When `fallback` is present the failure is recoverable:
 * `resolveScheduling` schedules the generator with the fallback and reports the error in the
 * capacity plan's diagnostics; without one it is fatal.
 *
 * @since 0.1.0
 */
export class SchedulingMetadataError extends Schema.TaggedError<SchedulingMetadataError>()(
  "SchedulingMetadataError",
  {
    code: SchedulingMetadataErrorCode,
    field: Schema.String,
    message: Schema.String,
    generator: Schema.optionalKey(Schema.String),
    fallback: Schema.optionalKey(SchedulingMetadata)
  }
) {}
