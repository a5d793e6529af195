import { Schema } from "effect"

/**
 * Bad input to one of this package's constructors.
 *
 * `field` names the offending field the way a user would write it (`weight`, `key.kind`,
 * `request["request:openai/gpt-4o"]`), `message` says what was expected (and what was given), and
 * `value`, when there was one, is the rejected value itself.
 *
 * @since 0.1.0
 */
export class ResourceValidationError extends Schema.TaggedError<ResourceValidationError>()(
  "ResourceValidationError",
  {
    field: Schema.String,
    message: Schema.String,
    value: Schema.optionalKey(Schema.Unknown)
  }
) {}
