import { Effect, Schema } from "effect"
import { MockProviderError } from "./MockProviderError.js"

const Probability = Schema.Finite.check(Schema.isBetween({ minimum: 0, maximum: 1 }))
const NonNegativeInt = Schema.Int.check(Schema.isGreaterThanOrEqualTo(0))

/** Latency of every answered request, uniform in `[min, max]` milliseconds. */
export const MockLatency = Schema.Struct({
  min: NonNegativeInt,
  max: NonNegativeInt
}).check(Schema.makeFilter((latency) => latency.min <= latency.max || "Expected min <= max"))

/**
 * The mock provider's options, with their defaults (an app's config can embed this Schema as it is). `port` is not
 * part of the served semantics; it only pins the listening port (0 = a random free port), as `--port` does.
 */
export const MockOptions = Schema.Struct({
  capacity: Schema.Int.check(Schema.isGreaterThanOrEqualTo(1)).pipe(
    Schema.withDecodingDefault(Effect.succeed(32))
  ),
  latencyMs: MockLatency.pipe(Schema.withDecodingDefault(Effect.succeed({ min: 70, max: 210 }))),
  retryAfterSeconds: NonNegativeInt.pipe(Schema.withDecodingDefault(Effect.succeed(1))),
  serverErrorRate: Probability.pipe(Schema.withDecodingDefault(Effect.succeed(0))),
  timeoutRate: Probability.pipe(Schema.withDecodingDefault(Effect.succeed(0))),
  rpm: Schema.NullOr(Schema.Finite.check(Schema.isGreaterThan(0))).pipe(
    Schema.withDecodingDefault(Effect.succeed(null))
  ),
  seed: Schema.Int.pipe(Schema.withDecodingDefault(Effect.succeed(7))),
  port: NonNegativeInt.check(Schema.isLessThanOrEqualTo(65535)).pipe(
    Schema.withDecodingDefault(Effect.succeed(0))
  )
})

/** Decoded options: every field present. */
export type MockOptions = typeof MockOptions.Type
/** What callers pass: every field optional (the `mock:` block as written in a config file). */
export type MockOptionsInput = typeof MockOptions.Encoded

/** The defaults, decoded (`capacity: 32, latencyMs: 70..210, retryAfterSeconds: 1, rates 0, rpm: null, seed: 7`). */
export const defaultMockOptions: MockOptions = Schema.decodeUnknownSync(MockOptions)({})

/** Validates raw options (from a config file or CLI flags); the error names the offending path. */
export const decodeMockOptions = (input: unknown): Effect.Effect<MockOptions, MockProviderError> =>
  Schema.decodeUnknownEffect(MockOptions)(input, { errors: "all" }).pipe(
    Effect.mapError((error) => new MockProviderError({ reason: "InvalidOptions", message: error.message }))
  )
