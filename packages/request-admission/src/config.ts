/**
 * Controller configuration as a `Schema` that carries its defaults: an application composes these fields into
 * its own config file instead of restating the values. Decoding errors name the field.
 */
import { Effect, Schema, SchemaIssue } from "effect"
import { RequestAdmissionConfigError } from "./errors.js"

// The description and default go on the inner schema, where a JSON Schema generator finds them (an application
// that composes these fields documents its config file from them).
const withDefault = <S extends Schema.Top>(schema: S, value: S["Encoded"], description?: string) =>
  (schema.annotate({ ...(description === undefined ? {} : { description }), default: value }) as unknown as S).pipe(
    Schema.withDecodingDefault(Effect.succeed(value))
  )

const PositiveInt = Schema.Int.check(Schema.isGreaterThanOrEqualTo(1))
const NonNegativeSeconds = Schema.Finite.check(Schema.isGreaterThanOrEqualTo(0))
const PerMinute = Schema.Finite.check(Schema.isGreaterThan(0))

/** A static cap for one alias of a provider/model (`maxParallelRequests` in model configs). */
export const ModelRegistration = Schema.Struct({
  provider: Schema.String,
  model: Schema.String,
  /** Aliases naming the same provider/model merge with the min rule. Defaults to `"provider/model"`. */
  alias: Schema.optional(Schema.String),
  maxParallelRequests: PositiveInt,
  /**
   * Requests per minute (a token bucket holding one minute's worth, refilled continuously), shared by every
   * domain of the provider/model; absent: no request budget. Aliases merge with the min rule.
   */
  requestsPerMinute: Schema.optional(
    PerMinute.annotate({ description: "Most requests per minute to this model (absent: no limit)." })
  ),
  /**
   * Tokens per minute, prompt and completion together, as a token bucket like `requestsPerMinute`: each call is
   * charged its `estimatedTokens` (else `defaultEstimatedTokens`) and corrected by the usage its release reports.
   */
  tokensPerMinute: Schema.optional(
    PerMinute.annotate({
      description: "Most tokens (prompt + completion) per minute to this model (absent: no limit)."
    })
  )
})
export type ModelRegistration = typeof ModelRegistration.Type

/** Limits per resource label `"provider/model/domain"`. */
const LimitsByLabel = Schema.Record(Schema.String, PositiveInt)

export const RequestAdmissionConfig = Schema.Struct({
  /** Registered at start; more can be added with `register`. */
  models: withDefault(Schema.Array(ModelRegistration), []),
  /** Starting adaptive limit per resource label; missing = the effective max. */
  initialLimits: withDefault(LimitsByLabel, {}),
  /** Optional ceiling per resource label below the static cap. */
  maxLimitClamps: withDefault(LimitsByLabel, {}),
  /** Cooldown after a 429 without a usable Retry-After, in seconds. */
  cooldownSeconds: withDefault(
    Schema.Finite.check(Schema.isGreaterThan(0)),
    2,
    "How long a 429 without a usable Retry-After closes the model, in seconds."
  ),
  /** Multiplicative decrease: limit = max(1, floor(limit × factor)), once per cascade. */
  decreaseFactor: withDefault(
    Schema.Finite.check(Schema.isGreaterThan(0), Schema.isLessThan(1)),
    0.75,
    "What a 429 multiplies the limit by (once per cascade of 429s)."
  ),
  /** Additive increase step. */
  additiveIncreaseStep: withDefault(PositiveInt, 1),
  /** Successes outside a cooldown per additive step. */
  successesUntilIncrease: withDefault(
    PositiveInt,
    25,
    "Successful calls outside a cooldown after which the limit goes up by one."
  ),
  /** Linear ramp from 1 to the initial limit, in seconds; 0 = off. */
  startupRampSeconds: withDefault(
    NonNegativeSeconds,
    0,
    "Ramp each model's limit up from 1 over this many seconds at the start (0: no ramp)."
  ),
  /**
   * Default queue-wait timeout (seconds) for items without their own: `null` waits until admitted, `0` means
   * "try once, never wait".
   */
  queueWaitTimeoutSeconds: withDefault(
    Schema.NullOr(NonNegativeSeconds),
    null,
    "How long a call may wait for a free slot before it is retried later (`null`: no limit)."
  ),
  /** Tokens charged to a `tokensPerMinute` budget for a call that gives no `estimatedTokens`. */
  defaultEstimatedTokens: withDefault(
    Schema.Int.check(Schema.isGreaterThanOrEqualTo(0)),
    1000,
    "Tokens a call is assumed to use when it gives no estimate (tokensPerMinute budgets)."
  ),
  /**
   * How much of a `requestsPerMinute` / `tokensPerMinute` budget may go out at once: each bucket holds this many
   * seconds' worth (at least one request or token). 60: a full minute's worth; lower it when the provider enforces
   * its per-minute limit over shorter windows.
   */
  budgetBurstSeconds: withDefault(
    Schema.Finite.check(Schema.isGreaterThan(0), Schema.isLessThanOrEqualTo(60)),
    60,
    "How many seconds' worth of a per-minute budget may be sent at once (60: a full minute's)."
  ),
  /** Events buffered per subscriber before the oldest are dropped. */
  eventBufferSize: withDefault(PositiveInt, 4096),
  /** On every 429, lower the limit to what the provider was serving: `max(1, min(limit, inFlight))`. */
  decreaseToInFlight: withDefault(Schema.Boolean, true),
  /** A success during a cooldown lets exactly one probe start; if it succeeds, the cooldown ends early. */
  halfOpenCooldown: withDefault(Schema.Boolean, true),
  /** Reaching the last rate-limit ceiling needs `successesUntilIncrease × 2^k` successes after k failed probes. */
  ceilingProbeBackoff: withDefault(Schema.Boolean, true),
  /**
   * A fresh resource's first wave is bounded by `slowStartInitialWindow`; its first success opens the limit, a
   * 429 before any success ends slow start with the decrease. Ignored while a `startupRampSeconds` ramp is set.
   */
  slowStart: withDefault(
    Schema.Boolean,
    true,
    "A new provider's first wave is ¾ of its `maxParallelRequests` until it proves it takes more."
  ),
  /** First slow-start window (never above the limit). Absent: three quarters of the limit, at least 4. */
  slowStartInitialWindow: Schema.optional(PositiveInt),
  /**
   * How long a full first wave must draw no 429 before the rest of the limit opens without waiting for the first
   * answer (seconds). Rejections come back within a round trip, answers take the generation time, so a quiet
   * first wave shows the declared limit fits. `null` waits for the first answer.
   */
  slowStartProbeSeconds: withDefault(
    Schema.NullOr(NonNegativeSeconds),
    0.01,
    "Slow start ends after this long without a 429 (`null`: at the first answer)."
  )
})

/** The decoded configuration: every default filled in. */
export type RequestAdmissionConfig = typeof RequestAdmissionConfig.Type
/** What `RequestAdmission.layer` takes: every field optional. */
export type RequestAdmissionConfigInput = typeof RequestAdmissionConfig.Encoded

/** The configuration the controller runs with, in the units it computes in. */
export interface ResolvedConfig {
  readonly models: ReadonlyArray<ModelRegistration>
  readonly initialLimits: ReadonlyMap<string, number>
  readonly maxLimitClamps: ReadonlyMap<string, number>
  readonly cooldownMs: number
  readonly decreaseFactor: number
  readonly additiveIncreaseStep: number
  readonly successesUntilIncrease: number
  readonly startupRampMs: number
  readonly queueWaitTimeoutSeconds: number | null
  readonly eventBufferSize: number
  readonly defaultEstimatedTokens: number
  readonly budgetBurstSeconds: number
  readonly decreaseToInFlight: boolean
  readonly halfOpenCooldown: boolean
  readonly ceilingProbeBackoff: boolean
  readonly slowStart: boolean
  /** `undefined`: `defaultSlowStartWindow(limit)`. */
  readonly slowStartInitialWindow: number | undefined
  /** `null`: the first wave opens at the first answer only. */
  readonly slowStartProbeMs: number | null
}

/** The default first slow-start window for a limit: three quarters of it, at least 4. */
export const defaultSlowStartWindow = (limit: number): number => Math.max(4, Math.ceil(limit * 0.75))

/** `models[0].maxParallelRequests`: the path of a decoding issue as a user would write it. */
const fieldOf = (path: ReadonlyArray<PropertyKey>): string => {
  let field = ""
  for (const key of path) {
    if (typeof key === "number") field += `[${key}]`
    else field += field === "" ? String(key) : `.${String(key)}`
  }
  return field
}

const formatIssues = SchemaIssue.makeFormatterStandardSchemaV1()

const configError = (error: Schema.SchemaError): RequestAdmissionConfigError => {
  const issue = formatIssues(error.issue).issues[0]
  const field = issue === undefined ? "" : fieldOf((issue.path ?? []).map((p) => (typeof p === "object" ? p.key : p)))
  const said = issue?.message ?? error.message
  // The message names the field too: it is often all a caller prints (`String(error)`, a log line).
  return new RequestAdmissionConfigError({ field, message: field === "" ? said : `${field}: ${said}` })
}

/** Decodes a configuration of this package; a bad value fails with `RequestAdmissionConfigError` naming its field. */
export const decodeConfig = <S extends Schema.Top & { readonly DecodingServices: never }>(schema: S) => {
  const decode = Schema.decodeUnknownEffect(schema)
  return (input: S["Encoded"]): Effect.Effect<S["Type"], RequestAdmissionConfigError> =>
    Effect.mapError(decode(input), configError)
}

const decodeAdmissionConfig = decodeConfig(RequestAdmissionConfig)

/** Decodes and checks a configuration; a bad value fails with `RequestAdmissionConfigError` naming its field. */
export const resolveConfig = Effect.fnUntraced(function*(input: RequestAdmissionConfigInput) {
  const config = yield* decodeAdmissionConfig(input)
  const resolved: ResolvedConfig = {
    models: config.models,
    initialLimits: new Map(Object.entries(config.initialLimits)),
    maxLimitClamps: new Map(Object.entries(config.maxLimitClamps)),
    cooldownMs: config.cooldownSeconds * 1000,
    decreaseFactor: config.decreaseFactor,
    additiveIncreaseStep: config.additiveIncreaseStep,
    successesUntilIncrease: config.successesUntilIncrease,
    startupRampMs: config.startupRampSeconds * 1000,
    queueWaitTimeoutSeconds: config.queueWaitTimeoutSeconds,
    eventBufferSize: config.eventBufferSize,
    defaultEstimatedTokens: config.defaultEstimatedTokens,
    budgetBurstSeconds: config.budgetBurstSeconds,
    decreaseToInFlight: config.decreaseToInFlight,
    halfOpenCooldown: config.halfOpenCooldown,
    ceilingProbeBackoff: config.ceilingProbeBackoff,
    slowStart: config.slowStart && config.startupRampSeconds === 0,
    slowStartInitialWindow: config.slowStartInitialWindow,
    slowStartProbeMs: config.slowStartProbeSeconds === null ? null : config.slowStartProbeSeconds * 1000
  }
  return resolved
})
