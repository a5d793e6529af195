import { Schema } from "effect"

/** Starting the mock provider failed: its options did not validate, or the port could not be bound. */
export class MockProviderError extends Schema.TaggedError<MockProviderError>()("MockProviderError", {
  reason: Schema.Literals(["InvalidOptions", "ListenFailed"]),
  message: Schema.String,
  cause: Schema.optional(Schema.Defect())
}) {}
