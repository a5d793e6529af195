import { isModelError, modelErrorKindOf, type RetryPolicy, retryPolicyOf } from "@sluice/errors"
import { Cause, Duration, type Exit } from "effect"
import type { DropCause, DropKind, GenerationFailure } from "../Spec.js"
import type { Lifecycle } from "./lifecycle.js"
import type { LiveCapacity } from "./liveCapacity.js"
import type { RowGroup } from "./rowGroups.js"
import type { RunState } from "./runState.js"
import type { Task } from "./task.js"

/** A task failure, classified: its kind, the policy of that kind, the typed error (absent for a defect). */
export interface Failure {
  readonly kind: DropKind
  readonly policy: RetryPolicy
  readonly error: GenerationFailure | undefined
  readonly message: string
}

/**
 * A local admission timeout means another holder had the request capacity: it is retried after at least this long,
 * so a task facing a zero queue-wait timeout on a controller shared with other work cannot spin.
 */
export const admissionRetryFloorMs = 50

const firstLine = (text: string): string => {
  const i = text.indexOf("\n")
  return i < 0 ? text : text.slice(0, i)
}

/** Classifies a typed failure: a model error by its kind and policy, a generator error by `retryable`. */
export const classifyError = (error: GenerationFailure): Failure =>
  isModelError(error)
    ? { kind: modelErrorKindOf(error), policy: retryPolicyOf(error), error, message: firstLine(error.message) }
    : {
      kind: "generator_failure",
      policy: error.retryable === true ? "retry" : "fail",
      error,
      message: firstLine(error.message)
    }

/**
 * Classifies a failed worker exit. A cause holding only interrupts that the scheduler did not cause (the generator
 * itself was interrupted, or raced an interrupt internally) is a bounded `retry` failure, `generator_interrupted`,
 * so its row is retried and, when retries are spent, dropped — never left without an outcome.
 */
export const classifyCause = (cause: Cause.Cause<GenerationFailure>): Failure => {
  const error = Cause.findErrorOption(cause)
  if (error._tag === "Some") return classifyError(error.value)
  if (Cause.hasInterruptsOnly(cause)) {
    return {
      kind: "generator_interrupted",
      policy: "retry",
      error: undefined,
      message: "The generator was interrupted by something other than the scheduler"
    }
  }
  return { kind: "generator_defect", policy: "fail", error: undefined, message: firstLine(String(Cause.squash(cause))) }
}

/** The exit is an interruption and nothing else. */
export const isInterruptOnly = (exit: Exit.Exit<unknown, unknown>): boolean =>
  exit._tag === "Failure" && Cause.hasInterruptsOnly(exit.cause)

/**
 * What happens to a failed task: the retry ledger instead of salvage rounds.
 *
 * - `preserve` (rate limits, admission timeouts): retried until it succeeds, or until `retry.preserveDeadline` —
 *   then its row is dropped with `preserve_deadline_exceeded` and a warning is logged;
 * - `retry`: up to `retry.maxAttempts` attempts, then the row is dropped with the cause;
 * - `fail`: the row (the row group, for a full-column task) is dropped with the cause, and the failure counts toward
 *   early shutdown unless its kind is in `earlyShutdown.ignoredKinds`;
 * - a kind in `stopOnKinds` drops its row and stops the run at once.
 *
 * After early shutdown a non-preserved failure drops its row at once, without further retries.
 */
export class FailurePolicy<R> {
  private readonly stopOnKinds: ReadonlySet<string>
  private readonly ignoredKinds: ReadonlySet<string>
  private readonly baseDelayMs: number
  private readonly maxDelayMs: number
  private readonly preserveDeadlineMs: number | undefined
  /** The first failure that counted toward early shutdown. */
  firstFailure: string | undefined

  constructor(
    private readonly state: RunState<R>,
    private readonly capacity: LiveCapacity<R>,
    private readonly lifecycle: Lifecycle<R>
  ) {
    const { earlyShutdown, retry, stopOnKinds } = state.options
    this.stopOnKinds = new Set(stopOnKinds)
    this.ignoredKinds = new Set(earlyShutdown === false ? [] : earlyShutdown.ignoredKinds)
    this.baseDelayMs = Duration.toMillis(retry.baseDelay)
    this.maxDelayMs = Duration.toMillis(retry.maxDelay)
    this.preserveDeadlineMs = retry.preserveDeadline === undefined
      ? undefined
      : Duration.toMillis(retry.preserveDeadline)
  }

  fail(task: Task, rg: RowGroup, failure: Failure, now: number, jitter: number): void {
    const state = this.state
    const { kind, policy } = failure
    task.attempts++
    if (failure.error !== undefined) task.lastError = failure.error
    task.lastKind = kind
    task.lastPolicy = policy
    task.lastMessage = failure.message
    state.count(kind)
    if (this.stopOnKinds.has(kind) && !state.stopRequested) {
      this.drop(task, rg, this.causeOf(task, failure, kind, failure.message))
      this.lifecycle.stopOnKind(kind, failure.message)
      return
    }
    if (policy === "preserve") {
      if (task.preserveSince < 0) task.preserveSince = now
      const deadline = this.preserveDeadlineMs
      if (deadline !== undefined && now - task.preserveSince >= deadline) {
        state.logs.push(
          `Dropping ${task.id} after ${
            now - task.preserveSince
          } ms of ${kind} failures (preserve deadline ${deadline} ms, ${task.attempts} attempts)`
        )
        this.drop(
          task,
          rg,
          this.causeOf(
            task,
            failure,
            "preserve_deadline_exceeded",
            `Still failing with ${kind} after the preserve deadline of ${deadline} ms: ${failure.message}`
          )
        )
        return
      }
      const dueAt = Math.ceil(now + this.retryDelay(task, failure, now, jitter))
      state.retries.schedule(task, dueAt)
      if (kind === "rate_limit") this.capacity.waitForReopen(task)
      state.emit(() => ({
        _tag: "preserved_retryable",
        at: now,
        taskId: task.id,
        column: state.columnOf(task),
        kind,
        attempt: task.attempts,
        eligibleAt: dueAt
      }))
      return
    }
    if (policy === "retry" && task.attempts < state.options.retry.maxAttempts && state.stop === undefined) {
      task.preserveSince = -1
      const dueAt = Math.ceil(now + this.retryDelay(task, failure, now, jitter))
      state.retries.schedule(task, dueAt)
      state.emit(() => ({
        _tag: "retry_deferred",
        at: now,
        taskId: task.id,
        column: state.columnOf(task),
        kind,
        attempt: task.attempts,
        eligibleAt: dueAt
      }))
      return
    }
    if (policy === "fail" && !this.ignoredKinds.has(kind)) {
      this.firstFailure ??= `${kind}: ${failure.message}`
      state.window.record(true)
    }
    this.drop(task, rg, this.causeOf(task, failure, kind, failure.message))
    if (state.window.tripped && state.stop === undefined) this.lifecycle.earlyShutdown(this.firstFailure ?? "")
  }

  /**
   * Retry-After when the provider sent one, else the request domain's remaining cooldown, else jittered exponential
   * backoff. A local admission timeout waits out the cooldown if there is one, and at least `admissionRetryFloorMs`:
   * the live gate already holds it back until the request layer has room, the floor keeps it from spinning when
   * the room is taken by work the scheduler does not see.
   */
  private retryDelay(task: Task, failure: Failure, now: number, jitter: number): number {
    const cooldown = this.capacity.cooldownRemaining(task, now)
    if (failure.kind === "request_admission_timeout") return Math.max(admissionRetryFloorMs, cooldown)
    const retryAfter = failure.error !== undefined && isModelError(failure.error)
      ? failure.error.retryAfterSeconds
      : undefined
    if (retryAfter !== undefined && retryAfter > 0) return retryAfter * 1000
    if (cooldown > 0) return cooldown
    const exp = Math.min(this.maxDelayMs, this.baseDelayMs * 2 ** Math.max(0, task.attempts - 1))
    return exp * (0.5 + jitter)
  }

  private causeOf(task: Task, failure: Failure, kind: DropKind, message: string): DropCause {
    return {
      kind,
      column: this.state.columnOf(task),
      attempts: task.attempts,
      ...(failure.error === undefined ? {} : { error: failure.error }),
      message
    }
  }

  /** The task ends without a result and its row(s) are dropped with `cause`. */
  private drop(task: Task, rg: RowGroup, cause: DropCause): void {
    const state = this.state
    state.end(task, rg)
    state.emit(() => ({
      _tag: "task_completed",
      at: state.now(),
      taskId: task.id,
      column: state.columnOf(task),
      outcome: cause.kind,
      rows: 0
    }))
    state.dropRowsOf(task, rg, cause)
  }
}
