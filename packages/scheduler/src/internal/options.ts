import { Duration, Effect } from "effect"
import { SchedulerConfigError } from "../errors.js"
import type { AdmissionPolicyName, SchedulerOptions, SchedulerSpec } from "../Spec.js"

export interface ResolvedOptions {
  readonly rows: number
  readonly bufferSize: number
  readonly maxConcurrentRowGroups: number
  readonly maxInFlightTasks: number
  readonly maxModelTaskAdmission: number
  readonly policy: AdmissionPolicyName
  readonly dispatchBatch: number
  readonly maxAttempts: number
  readonly baseDelayMs: number
  readonly maxDelayMs: number
  readonly preserveDeadlineMs: number | undefined
  readonly earlyShutdown: { readonly window: number; readonly rate: number } | false
  readonly resumed: ReadonlySet<number>
}

const invalid = (field: string, message: string) =>
  Effect.fail(new SchedulerConfigError({ field, reason: "invalid_value", message }))

const isPositiveInt = (u: unknown): u is number => typeof u === "number" && Number.isInteger(u) && u >= 1

const positiveInt = (field: string, value: unknown, fallback: number) =>
  value === undefined
    ? Effect.succeed(fallback)
    : isPositiveInt(value)
    ? Effect.succeed(value)
    : invalid(field, `Expected a positive integer, got ${String(value)}`)

const millis = (field: string, value: Duration.Input | undefined, fallback: number | undefined) =>
  Effect.suspend(() => {
    if (value === undefined) return Effect.succeed(fallback)
    const decoded = Duration.fromInput(value)
    if (decoded._tag === "None") return invalid(field, `Expected a duration, got ${String(value)}`)
    const ms = Duration.toMillis(decoded.value)
    return ms >= 0 ? Effect.succeed(ms) : invalid(field, `Expected a non-negative duration, got ${String(value)}`)
  })

/** Validates the spec's scalars and the options, naming the offending field. */
export const resolveOptions = Effect.fnUntraced(function*<R>(
  spec: SchedulerSpec<R>,
  options: SchedulerOptions
): Effect.fn.Return<ResolvedOptions, SchedulerConfigError> {
  const rows = yield* positiveInt("rows", spec.rows, 0)
  const bufferSize = yield* positiveInt("bufferSize", spec.bufferSize, 0)
  if (spec.rows === undefined) return yield* invalid("rows", "Expected a positive integer, got undefined")
  if (spec.bufferSize === undefined) return yield* invalid("bufferSize", "Expected a positive integer, got undefined")
  if (spec.sink === undefined || typeof spec.sink.write !== "function") {
    return yield* invalid("sink.write", "Expected a checkpoint sink with a write function")
  }
  const maxConcurrentRowGroups = yield* positiveInt("maxConcurrentRowGroups", options.maxConcurrentRowGroups, 3)
  const maxInFlightTasks = yield* positiveInt("maxInFlightTasks", options.maxInFlightTasks, 1024)
  const maxModelTaskAdmission = yield* positiveInt(
    "maxModelTaskAdmission",
    options.maxModelTaskAdmission,
    maxInFlightTasks
  )
  const policy = options.admissionPolicy ?? "bounded-borrow"
  if (policy !== "bounded-borrow" && policy !== "strict-fair") {
    return yield* invalid("admissionPolicy", `Expected "bounded-borrow" or "strict-fair", got ${String(policy)}`)
  }
  const dispatchBatch = yield* positiveInt("dispatchBatch", options.dispatchBatch, 4)
  const maxAttempts = yield* positiveInt("retry.maxAttempts", options.retry?.maxAttempts, 3)
  const baseDelayMs = (yield* millis("retry.baseDelay", options.retry?.baseDelay, 1000))!
  const maxDelayMs = (yield* millis("retry.maxDelay", options.retry?.maxDelay, 30_000))!
  const preserveDeadlineMs = yield* millis("retry.preserveDeadline", options.retry?.preserveDeadline, undefined)
  let earlyShutdown: ResolvedOptions["earlyShutdown"] = false
  if (options.earlyShutdown !== false) {
    const window = yield* positiveInt("earlyShutdown.window", options.earlyShutdown?.window, 10)
    const rate = options.earlyShutdown?.rate ?? 0.5
    if (typeof rate !== "number" || !(rate > 0 && rate <= 1)) {
      return yield* invalid("earlyShutdown.rate", `Expected a rate in (0, 1], got ${String(rate)}`)
    }
    earlyShutdown = { window, rate }
  }
  const resumed = new Set<number>()
  const rowGroupCount = Math.ceil(rows / bufferSize)
  let i = 0
  for (const id of options.resume?.completedRowGroups ?? []) {
    if (!Number.isInteger(id) || id < 0 || id >= rowGroupCount) {
      return yield* invalid(
        `resume.completedRowGroups[${i}]`,
        `Expected a row group id in [0, ${rowGroupCount - 1}], got ${String(id)}`
      )
    }
    resumed.add(id)
    i++
  }
  return {
    rows,
    bufferSize,
    maxConcurrentRowGroups,
    maxInFlightTasks,
    maxModelTaskAdmission,
    policy,
    dispatchBatch,
    maxAttempts,
    baseDelayMs,
    maxDelayMs,
    preserveDeadlineMs,
    earlyShutdown,
    resumed
  }
})
