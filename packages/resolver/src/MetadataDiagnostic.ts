import { Schema } from "effect"

/**
 * A note attached to scheduling metadata while it was derived (a clamped `maxParallelRequests`, an
 * alias set spread over several endpoints…). The metadata is still usable; `resolveScheduling`
 * copies every note into the capacity plan's diagnostics so nothing is decided silently.
 *
 * @since 0.1.0
 */
export interface MetadataDiagnostic {
  readonly code: string
  readonly message: string
}

/**
 * Schema of a {@link MetadataDiagnostic}.
 *
 * @since 0.1.0
 */
export const MetadataDiagnostic = Schema.Struct({
  code: Schema.NonEmptyString,
  message: Schema.String
})
