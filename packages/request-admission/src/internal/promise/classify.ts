/**
 * Turns whatever a run's call threw into a `ProviderError`: the caller's classifier first (when it has an
 * answer), else `providerErrorFromSdk` (openai-node, the AI SDK, `effect/ai`, fetch and socket failures).
 */
import { ProviderError, providerErrorFromSdk, ProviderErrorKind, type ProviderIdentity } from "@sluice/errors"
import { Effect, Schema } from "effect"
import { decodeConfig } from "../../config.js"

/** What a classifier may return instead of a `ProviderError`: the kind, and what it knows of the answer. */
export const ClassifiedFailure = Schema.Struct({
  kind: ProviderErrorKind,
  message: Schema.optional(Schema.String),
  status: Schema.optional(Schema.Int),
  retryAfterSeconds: Schema.optional(Schema.Finite.check(Schema.isGreaterThanOrEqualTo(0)))
})
export type ClassifiedFailure = typeof ClassifiedFailure.Encoded

/**
 * A classifier of the caller's own: `undefined` leaves the error to the default (`providerErrorFromSdk`).
 * `{ kind: "rate_limit", retryAfterSeconds: 5 }` makes the run wait out a cooldown and retry.
 */
export type Classifier = (
  error: unknown,
  target: ProviderIdentity
) => ProviderError | ClassifiedFailure | undefined

const decodeClassified = decodeConfig(ClassifiedFailure)

const messageOf = (error: unknown): string => (error instanceof Error ? error.message : String(error))

export const classifyFailure = (
  classifier: Classifier | undefined,
  error: unknown,
  identity: ProviderIdentity
): Effect.Effect<ProviderError> =>
  Effect.suspend(() => {
    const own = classifier?.(error, identity)
    if (own === undefined) return providerErrorFromSdk(error, identity)
    if (own instanceof ProviderError) return Effect.succeed(own)
    return decodeClassified(own).pipe(
      Effect.map((failure) =>
        new ProviderError({
          ...identity,
          kind: failure.kind,
          message: failure.message ?? messageOf(error),
          ...(failure.status === undefined ? {} : { status: failure.status }),
          ...(failure.retryAfterSeconds === undefined ? {} : { retryAfterSeconds: failure.retryAfterSeconds }),
          cause: error
        })
      ),
      // A classifier that returns nonsense is a bug in the caller's code: it surfaces as a defect naming the field.
      Effect.catch((bad) =>
        Effect.die(
          new TypeError(
            `The classify option returned an invalid failure: ${bad.field === "" ? "" : `${bad.field}: `}${bad.message}`
          )
        )
      )
    )
  })
