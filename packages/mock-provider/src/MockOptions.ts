import { Effect, Schema } from "effect"
import { MockProviderError } from "./MockProviderError.js"

const Probability = Schema.Finite.check(Schema.isBetween({ minimum: 0, maximum: 1 }))
const NonNegativeInt = Schema.Int.check(Schema.isGreaterThanOrEqualTo(0))

/** Latency of every answered request, uniform in `[min, max]` milliseconds. */
const latencyFields = {
  min: NonNegativeInt.annotate({ description: "Shortest latency, in milliseconds." }),
  max: NonNegativeInt.annotate({ description: "Longest latency, in milliseconds." })
}
const latencyOrder = Schema.makeFilter((latency: { readonly min: number; readonly max: number }) =>
  latency.min <= latency.max || "Expected min <= max"
)
export const MockLatency = Schema.Struct(latencyFields).check(latencyOrder)

/**
 * The mock provider's options, with their defaults (an app's config can embed this Schema as it is). `port` is not
 * part of the served semantics; it only pins the listening port (0 = a random free port), as `--port` does.
 */
// Each option documents itself (description and default), so a JSON Schema generated from an embedding schema
// tells an editor what the option does.
const option = <S extends Schema.Top>(schema: S, value: S["Encoded"], description: string) =>
  (schema.annotate({ description, default: value }) as unknown as S).pipe(
    Schema.withDecodingDefault(Effect.succeed(value))
  )

export const MockOptions = Schema.Struct({
  capacity: option(
    Schema.Int.check(Schema.isGreaterThanOrEqualTo(1)),
    32,
    "Requests in service at once; one more is answered 429 at once."
  ),
  // Annotated before its check: annotations given after a check describe the check, not the object.
  latencyMs: Schema.Struct(latencyFields)
    .annotate({ description: "Latency of each answer, uniform in [min, max] ms.", default: { min: 70, max: 210 } })
    .check(latencyOrder)
    .pipe(Schema.withDecodingDefault(Effect.succeed({ min: 70, max: 210 }))),
  retryAfterSeconds: option(NonNegativeInt, 1, "The `Retry-After` of a 429."),
  serverErrorRate: option(Probability, 0, "Share of admitted requests answered 500 or 503."),
  timeoutRate: option(Probability, 0, "Share of admitted requests never answered."),
  rpm: option(
    Schema.NullOr(Schema.Finite.check(Schema.isGreaterThan(0))),
    null,
    "Requests per minute (a token bucket that also answers 429); `null`: no limit."
  ),
  seed: option(Schema.Int, 7, "Seeds latencies, errors and completions."),
  port: option(
    NonNegativeInt.check(Schema.isLessThanOrEqualTo(65535)),
    0,
    "The port to listen on (0: a random free port)."
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
