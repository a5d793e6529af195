import { Schema } from "effect"

/**
 * Schema of a resource amount, limit or admitted limit: a positive safe integer.
 *
 * @since 0.1.0
 */
export const ResourceAmount = Schema.Number.check(
  Schema.makeFilter<number>((n) => Number.isSafeInteger(n) && n > 0, { expected: "a positive integer" })
)
