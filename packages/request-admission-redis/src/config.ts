/**
 * Configuration of shared admission as a `Schema` carrying its defaults. The AIMD rules themselves (factor,
 * cooldown, successes per step, caps, clamps, initial limits) are not repeated here: they come from the
 * worker's `RequestAdmissionConfig`, so the shared limit follows exactly the rules the local one would.
 */
import { Effect, Schema, SchemaIssue } from "effect"
import { SharedAdmissionConfigError } from "./errors.js"

const withDefault = <S extends Schema.Top>(schema: S, value: S["Encoded"], description: string) =>
  (schema.annotate({ description, default: value }) as unknown as S).pipe(
    Schema.withDecodingDefault(Effect.succeed(value))
  )

const PositiveSeconds = Schema.Finite.check(Schema.isGreaterThan(0))

export const SharedAdmissionConfig = Schema.Struct({
  /** Prefix of every Redis key and channel; workers that share capacity use the same one. */
  keyPrefix: withDefault(Schema.String, "sluice:admission:", "Prefix of the Redis keys workers share."),
  /** This worker's name in the lease table; absent: `host:pid:random`. Must be unique among live workers. */
  workerId: Schema.optional(Schema.String.check(Schema.isNonEmpty())),
  leaseTtlSeconds: withDefault(
    PositiveSeconds,
    30,
    "A lease not renewed for this long expires and its slot returns to the other workers."
  ),
  /** How often one call renews every lease the worker holds; absent: a third of the TTL. */
  heartbeatSeconds: Schema.optional(PositiveSeconds),
  commandTimeoutSeconds: withDefault(
    PositiveSeconds,
    2,
    "A Redis call slower than this counts as Redis unreachable (admission fails closed)."
  ),
  pollSeconds: withDefault(
    PositiveSeconds,
    0.2,
    "How often a worker with waiters asks again when no release was announced."
  ),
  waitingTtlSeconds: withDefault(
    PositiveSeconds,
    1,
    "How long a worker that got fewer leases than it asked for counts as waiting (for fair shares)."
  )
})
export type SharedAdmissionConfig = typeof SharedAdmissionConfig.Type
export type SharedAdmissionConfigInput = typeof SharedAdmissionConfig.Encoded

const formatIssues = SchemaIssue.makeFormatterStandardSchemaV1()

export const decodeSharedConfig = (input: SharedAdmissionConfigInput) =>
  Schema.decodeUnknownEffect(SharedAdmissionConfig)(input).pipe(
    Effect.mapError((error) => {
      const issue = formatIssues(error.issue).issues[0]
      const field = (issue?.path ?? []).map((p) => String(typeof p === "object" ? p.key : p)).join(".")
      return new SharedAdmissionConfigError({ field, message: issue?.message ?? error.message })
    }),
    Effect.flatMap((config) =>
      config.heartbeatSeconds !== undefined && config.heartbeatSeconds >= config.leaseTtlSeconds
        ? Effect.fail(
          new SharedAdmissionConfigError({
            field: "heartbeatSeconds",
            message: `must be below leaseTtlSeconds (${config.leaseTtlSeconds}): set it to about a third of the TTL`
          })
        )
        : Effect.succeed(config)
    )
  )
