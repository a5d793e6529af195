import { Effect, Result } from "effect"
import { decodeResultWith, invalid } from "./internal/validation.js"
import { ResourceAmount } from "./ResourceAmount.js"
import type { ResourceValidationError } from "./ResourceValidationError.js"
import { SchedulerResourceKey } from "./SchedulerResourceKey.js"

/**
 * What one task holds while it runs: resource key → positive integer amount, with at least one
 * entry. A `ReadonlyMap` (not a record) so any key, including `__proto__`, is safe, and iteration
 * order is the order the entries were given.
 *
 * @since 0.1.0
 */
export type SchedulerResourceRequest = ReadonlyMap<SchedulerResourceKey, number>

/**
 * The capacity of each scheduler resource: resource key → positive integer limit (may be empty).
 *
 * @since 0.1.0
 */
export type SchedulerResourceLimits = ReadonlyMap<SchedulerResourceKey, number>

/**
 * Accepted input for {@link makeSchedulerResourceRequest} and {@link makeSchedulerResourceLimits}:
 * `[key, amount]` entries (an array of pairs, a `Map`, …) or a plain record.
 *
 * @since 0.1.0
 */
export type SchedulerResourceEntries = Iterable<readonly [string, number]> | Readonly<Record<string, number>>

const decodeKey = decodeResultWith(SchedulerResourceKey, "key")
const decodeAmount = decodeResultWith(ResourceAmount, "amount")

/** `request["submission"]`: the field of one entry. */
const entryField = (root: string, key: string): string => `${root}[${JSON.stringify(key)}]`

const isObject = (u: unknown): u is object => typeof u === "object" && u !== null

const entriesOf = (input: unknown): Iterable<unknown> | undefined =>
  !isObject(input) ? undefined : Symbol.iterator in input ? (input as Iterable<unknown>) : Object.entries(input)

const collect = (root: string, allowEmpty: boolean) =>
  Effect.fnUntraced(function*(
    input: SchedulerResourceEntries
  ): Effect.fn.Return<ReadonlyMap<SchedulerResourceKey, number>, ResourceValidationError> {
    const entries = entriesOf(input)
    if (entries === undefined) {
      return yield* invalid(root, `Expected [key, amount] entries or a record, got ${typeof input}`, { value: input })
    }
    const collected = new Map<SchedulerResourceKey, number>()
    let index = 0
    for (const entry of entries) {
      if (!Array.isArray(entry) || entry.length !== 2 || typeof entry[0] !== "string") {
        return yield* invalid(`${root}[${index}]`, "Expected a [key, amount] entry with a string key", {
          value: entry
        })
      }
      const field = entryField(root, entry[0])
      const key = decodeKey(entry[0], field)
      if (Result.isFailure(key)) return yield* key.failure
      if (collected.has(key.success)) {
        return yield* invalid(field, `Expected each resource key once, got ${JSON.stringify(key.success)} twice`, {
          value: entry[1]
        })
      }
      const amount = decodeAmount(entry[1], field)
      if (Result.isFailure(amount)) return yield* amount.failure
      collected.set(key.success, amount.success)
      index++
    }
    if (!allowEmpty && collected.size === 0) {
      return yield* invalid(root, "Expected at least one resource, got none")
    }
    return collected
  })

/**
 * Validates a task's resource request: at least one entry, every key a valid
 * {@link SchedulerResourceKey} given once, every amount a positive integer. Failures name the
 * entry, e.g. `request["request:openai/gpt-4o"]`.
 *
 * @since 0.1.0
 */
export const makeSchedulerResourceRequest: (
  entries: SchedulerResourceEntries
) => Effect.Effect<SchedulerResourceRequest, ResourceValidationError> = collect("request", false)

/**
 * Validates scheduler resource limits: the same rules as a request (fields read `limits["…"]`),
 * except that no entry at all is allowed.
 *
 * @since 0.1.0
 */
export const makeSchedulerResourceLimits: (
  entries: SchedulerResourceEntries
) => Effect.Effect<SchedulerResourceLimits, ResourceValidationError> = collect("limits", true)

/**
 * Succeeds when every resource in `request` has a limit at least as large as the amount asked for;
 * otherwise fails naming the entry, since a task asking for it could never be admitted.
 *
 * @since 0.1.0
 */
export const checkRequestWithinLimits = Effect.fnUntraced(function*(
  request: SchedulerResourceRequest,
  limits: SchedulerResourceLimits
): Effect.fn.Return<void, ResourceValidationError> {
  for (const [key, amount] of request) {
    const limit = limits.get(key)
    const field = entryField("request", key)
    if (limit === undefined) {
      return yield* invalid(field, `Expected a limit for resource ${JSON.stringify(key)}, got none`, { value: amount })
    }
    if (amount > limit) {
      return yield* invalid(field, `Expected at most ${limit} (the limit of ${JSON.stringify(key)}), got ${amount}`, {
        value: amount
      })
    }
  }
})
