import type { RequestCapacitySource } from "@sluice/scheduling-resources"
import { Duration, Effect, Option, Predicate, Schema, SchemaTransformation, Stream } from "effect"

const PositiveInt = Schema.Int.check(Schema.isGreaterThanOrEqualTo(1))

const withDefault = <S extends Schema.Top>(value: S["Encoded"]) => (schema: S) =>
  schema.pipe(Schema.withDecodingDefault(Effect.succeed(value)))

const isDurationInput = (u: unknown): u is Duration.Input =>
  u !== undefined && u !== null && Option.isSome(Duration.fromInput(u as Duration.Input))

/** A non-negative duration in any `Duration.Input` form (`"1 second"`, milliseconds, a `Duration`, …). */
const NonNegativeDuration = Schema.declare<Duration.Input>(isDurationInput, {
  expected: "a duration such as \"2 seconds\" or a number of milliseconds"
}).pipe(
  Schema.decodeTo(
    Schema.Duration.check(
      Schema.makeFilter((d: Duration.Duration) => Duration.isGreaterThanOrEqualTo(d, Duration.zero), {
        expected: "a non-negative duration"
      })
    ),
    SchemaTransformation.transform({
      decode: (input: Duration.Input) => Duration.fromInputUnsafe(input),
      encode: (duration: Duration.Duration): Duration.Input => duration
    })
  )
)

/**
 * Bounded retries and the optional deadline of preserved ones.
 *
 * - `maxAttempts` (default 3): total attempts of a task failing with a `retry`-policy error before its row is
 *   dropped;
 * - `baseDelay` (default 1 second): first backoff delay, doubled per attempt, with ±50 % jitter from `Random`;
 * - `maxDelay` (default 30 seconds): backoff cap;
 * - `preserveDeadline` (default none): how long a task may keep failing with `preserve`-policy errors (rate limits,
 *   admission timeouts), from its first such failure, before its row is dropped with `preserve_deadline_exceeded`.
 *
 * @since 0.1.0
 */
export const RetryOptions = Schema.Struct({
  maxAttempts: PositiveInt.pipe(withDefault(3)),
  baseDelay: NonNegativeDuration.pipe(withDefault<typeof NonNegativeDuration>("1 second")),
  maxDelay: NonNegativeDuration.pipe(withDefault<typeof NonNegativeDuration>("30 seconds")),
  preserveDeadline: Schema.optional(NonNegativeDuration)
})

/**
 * @since 0.1.0
 */
export type RetryOptions = typeof RetryOptions.Encoded

/**
 * The early-shutdown gate: a sliding window over the last `window` task outcomes (default 10); once it is full and
 * the share of non-retryable failures reaches `rate` (default 0.5, in (0, 1]), the run shuts down early. Failures of
 * the `ignoredKinds` (default none, e.g. `provider_unreachable`) never enter the window.
 *
 * @since 0.1.0
 */
export const EarlyShutdownOptions = Schema.Struct({
  window: PositiveInt.pipe(withDefault(10)),
  rate: Schema.Number.check(Schema.isGreaterThan(0), Schema.isLessThanOrEqualTo(1)).pipe(withDefault(0.5)),
  ignoredKinds: Schema.Array(Schema.NonEmptyString).pipe(withDefault<Schema.$Array<Schema.NonEmptyString>>([]))
})

/**
 * @since 0.1.0
 */
export type EarlyShutdownOptions = typeof EarlyShutdownOptions.Encoded

/**
 * `bounded-borrow` (default) or `strict-fair`.
 *
 * @since 0.1.0
 */
export const AdmissionPolicyName = Schema.Literals(["bounded-borrow", "strict-fair"])

/**
 * @since 0.1.0
 */
export type AdmissionPolicyName = typeof AdmissionPolicyName.Type

const isRequestCapacitySource = (u: unknown): u is RequestCapacitySource =>
  Predicate.isObject(u) && typeof u["capacity"] === "function" && Stream.isStream(u["capacityChanges"])

const RequestCapacity = Schema.declare<RequestCapacitySource>(isRequestCapacitySource, {
  expected: "a request capacity source ({ capacity, capacityChanges }), e.g. the RequestAdmission service"
})

const RowGroupIds = Schema.declare<Iterable<number>>(
  (u): u is Iterable<number> => Predicate.isIterable(u) && typeof u !== "string",
  { expected: "an iterable of row group ids" }
)

/**
 * The scheduler's options, with their defaults. `makeScheduler` decodes what it is given with this schema; an app
 * can compose it into its own configuration instead of restating the defaults.
 *
 * - `maxConcurrentRowGroups` (3): row groups admitted and not yet checkpointed;
 * - `maxInFlightTasks` / `maxModelTaskAdmission`: the `submission` and `llm_wait` limits (default 1024 and
 *   `maxInFlightTasks`) used when the scheduler resolves the columns' scheduling itself; with a resolved
 *   `scheduling` in the spec they must match its limits;
 * - `admissionPolicy` (`bounded-borrow`);
 * - `dispatchBatch` (4): tasks dispatched per dispatcher step and per wake-up it answers (completions of one
 *   event-loop turn are answered by one step); when more are ready, the dispatcher yields to the event loop first, so answers that arrived meanwhile — a 429 that lowers a request limit, a cooldown — are seen
 *   before more requests go out;
 * - `retry`, `earlyShutdown` (`false` disables it);
 * - `stopOnKinds` (`["authentication"]`): a task failure of one of these kinds stops the run at once;
 * - `requestCapacity`: live request capacity (default: static limits from the scheduling);
 * - `resume`: `{ completedRowGroups }` already checkpointed by an earlier run; they are skipped.
 *
 * @since 0.1.0
 */
export const SchedulerOptions = Schema.Struct({
  maxConcurrentRowGroups: PositiveInt.pipe(withDefault(3)),
  maxInFlightTasks: Schema.optional(PositiveInt),
  maxModelTaskAdmission: Schema.optional(PositiveInt),
  admissionPolicy: AdmissionPolicyName.pipe(withDefault<typeof AdmissionPolicyName>("bounded-borrow")),
  dispatchBatch: PositiveInt.pipe(withDefault(4)),
  retry: RetryOptions.pipe(withDefault<typeof RetryOptions>({})),
  earlyShutdown: Schema.Union([Schema.Literal(false), EarlyShutdownOptions]).pipe(
    withDefault<Schema.Union<readonly [Schema.Literal<false>, typeof EarlyShutdownOptions]>>({})
  ),
  stopOnKinds: Schema.Array(Schema.NonEmptyString).pipe(
    withDefault<Schema.$Array<Schema.NonEmptyString>>(["authentication"])
  ),
  requestCapacity: Schema.optional(RequestCapacity),
  resume: Schema.optional(Schema.Struct({ completedRowGroups: RowGroupIds }))
})

/**
 * What `makeScheduler` accepts (every field optional).
 *
 * @since 0.1.0
 */
export type SchedulerOptions = typeof SchedulerOptions.Encoded

/**
 * The options with their defaults applied.
 *
 * @since 0.1.0
 */
export type DecodedSchedulerOptions = typeof SchedulerOptions.Type
