/**
 * The Promise facade's options as one `Schema`: the controller's own configuration (`RequestAdmissionConfig`), the
 * executor's retries of transient failures (`ModelRequestExecutorConfig`), and what only the facade does — retrying
 * rate-limited runs through admission and timing out an attempt. Decoding errors name the field.
 */
import { RequestDomain } from "@sluice/scheduling-resources"
import { Effect, Schema } from "effect"
import { RequestAdmissionConfig } from "../../config.js"
import { ModelRequestExecutorConfig } from "../../ModelRequestExecutor.js"

const withDefault = <S extends Schema.Top>(schema: S, value: S["Encoded"]) =>
  schema.pipe(Schema.withDecodingDefault(Effect.succeed(value)))

const PositiveSeconds = Schema.Finite.check(Schema.isGreaterThan(0))

/** How a run is retried: rate limits through admission, transient provider failures by the executor. */
export const RetryOptions = Schema.Struct({
  /**
   * Most calls one run makes while the provider answers 429. Each 429 goes back through admission, which holds
   * the call until the model's cooldown ends (or a probe succeeds); `null` retries until the provider answers.
   */
  maxAttempts: withDefault(Schema.NullOr(Schema.Int.check(Schema.isGreaterThanOrEqualTo(1))), 10),
  /** Retries of 502/503/504 and connection failures, with jittered exponential backoff (executor's defaults). */
  ...ModelRequestExecutorConfig.fields
})

export const AdmissionOptions = Schema.Struct({
  ...RequestAdmissionConfig.fields,
  retry: withDefault(RetryOptions, {}),
  /** An attempt with no answer after this long is aborted (its signal fires) and fails as a timeout. */
  attemptTimeoutSeconds: withDefault(Schema.NullOr(PositiveSeconds), null)
})
export type AdmissionOptions = typeof AdmissionOptions.Type

/** Where one run goes: a registered provider/model, a request domain, a fairness group. */
export const RunTarget = Schema.Struct({
  provider: Schema.String.check(Schema.isNonEmpty()),
  model: Schema.String.check(Schema.isNonEmpty()),
  domain: withDefault(RequestDomain, "chat"),
  /** A group key (weight 1) or `{ key, weight }`: waiters are served fairly across groups. */
  group: Schema.optional(
    Schema.Union([
      Schema.String,
      Schema.Struct({ key: Schema.String, weight: Schema.Finite.check(Schema.isGreaterThan(0)) })
    ])
  ),
  /** `undefined`: the configured default; `null`: wait until admitted; `0`: fail at once unless a slot is free. */
  queueWaitTimeoutSeconds: Schema.optional(Schema.NullOr(Schema.Finite.check(Schema.isGreaterThanOrEqualTo(0)))),
  /** What the call is for, quoted in error messages ("answering prompt 12"). */
  purpose: Schema.optional(Schema.String),
  /** Tokens the call is expected to use (prompt + completion), charged to the model's `tokensPerMinute`. */
  estimatedTokens: Schema.optional(Schema.Finite.check(Schema.isGreaterThanOrEqualTo(0)))
})
export type RunTarget = typeof RunTarget.Type
