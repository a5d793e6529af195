import { Schema } from "effect"

/**
 * A run's scheduling input that cannot be resolved, whatever the metadata: invalid options
 * (`maxInFlightTasks`, `maxModelTaskAdmission`), an empty or duplicate generator name, or a
 * generator without output columns. `field` names it (`generators[2].generator`).
 *
 * @since 0.1.0
 */
export class ResolverConfigError extends Schema.TaggedError<ResolverConfigError>()("ResolverConfigError", {
  field: Schema.String,
  message: Schema.String,
  generator: Schema.optionalKey(Schema.String)
}) {}
