/**
 * The shared lease table as typed operations: one atomic script per call (loaded once, run by `EVALSHA`, reloaded
 * on `NOSCRIPT` by Effect's `Redis.eval`). Every call is bounded by the command timeout; a call that does not
 * answer in time fails with `SharedAdmissionUnavailable` — the caller admits nothing on it.
 */
import type { ReleaseOutcome } from "@sluice/request-admission"
import { type RequestResourceKey, requestResourceLabel } from "@sluice/scheduling-resources"
import { Effect } from "effect"
import type * as Redis from "effect/persistence/Redis"
import { SharedAdmissionUnavailable } from "./errors.js"
import {
  acquireScript,
  type AimdParams,
  heartbeatScript,
  releaseScript,
  type ResourceKeys,
  resourceKeys
} from "./scripts.js"

export interface Grant {
  /** Lease members granted, in order (`worker|seq|admittedLimit`). */
  readonly granted: ReadonlyArray<string>
  /** > 0: the resource is cooling down for this long (ms, Redis's clock). */
  readonly waitMs: number
  readonly limit: number
  readonly inFlight: number
}

export interface Released {
  /** False: the lease had already expired (or been released) and changed nothing. */
  readonly released: boolean
  readonly limit: number
  readonly blockedUntilMillis: number
  readonly inFlight: number
  /** Waiting workers this release told to ask again (possibly the releasing worker itself). */
  readonly woken: ReadonlyArray<string>
}

/** The shared state of one resource, as Redis holds it. */
export interface SharedState {
  readonly limit: number | undefined
  readonly blockedUntilMillis: number
  readonly inFlight: number
  readonly successStreak: number
  readonly rateLimitCeiling: number
  readonly holders: Readonly<Record<string, number>>
}

export interface LeaseStore {
  readonly keys: (resource: RequestResourceKey) => ResourceKeys
  readonly acquire: (
    resource: RequestResourceKey,
    worker: string,
    want: number,
    ttlMs: number,
    aimd: AimdParams,
    waitingMs: number
  ) => Effect.Effect<Grant, SharedAdmissionUnavailable>
  readonly release: (
    resource: RequestResourceKey,
    member: string,
    outcome: ReleaseOutcome,
    aimd: AimdParams
  ) => Effect.Effect<Released, SharedAdmissionUnavailable>
  readonly heartbeat: (
    ttlMs: number,
    held: ReadonlyArray<{ readonly keys: ResourceKeys; readonly members: ReadonlyArray<string> }>
  ) => Effect.Effect<ReadonlyArray<string>, SharedAdmissionUnavailable>
  readonly state: (resource: RequestResourceKey) => Effect.Effect<SharedState, SharedAdmissionUnavailable>
}

const messageOf = (cause: unknown): string =>
  cause instanceof Error ? cause.message : typeof cause === "string" ? cause : "Redis did not answer"

export const makeLeaseStore = (
  redis: Redis.Redis["Service"],
  options: { readonly keyPrefix: string; readonly commandTimeoutMs: number }
): LeaseStore => {
  const keyCache = new Map<string, ResourceKeys>()
  const keys = (resource: RequestResourceKey): ResourceKeys => {
    const label = requestResourceLabel(resource)
    let found = keyCache.get(label)
    if (found === undefined) {
      found = resourceKeys(options.keyPrefix, label)
      keyCache.set(label, found)
    }
    return found
  }

  /** Fails closed: an error or a call slower than the timeout is `SharedAdmissionUnavailable`. */
  const bounded = <A>(
    effect: Effect.Effect<A, Redis.RedisError>,
    operation: string,
    resource?: RequestResourceKey
  ): Effect.Effect<A, SharedAdmissionUnavailable> =>
    effect.pipe(
      Effect.mapError((error) =>
        new SharedAdmissionUnavailable({
          ...(resource === undefined ? {} : { resource }),
          operation,
          message: messageOf(error.cause)
        })
      ),
      Effect.timeoutOrElse({
        duration: options.commandTimeoutMs,
        orElse: () =>
          Effect.fail(
            new SharedAdmissionUnavailable({
              ...(resource === undefined ? {} : { resource }),
              operation,
              message: `Redis did not answer within ${options.commandTimeoutMs} ms`
            })
          )
      })
    )

  const acquireEval = redis.eval(acquireScript)
  const releaseEval = redis.eval(releaseScript)
  const heartbeatEval = redis.eval(heartbeatScript)

  return {
    keys,
    acquire: (resource, worker, want, ttlMs, aimd, waitingMs) =>
      bounded(
        Effect.map(
          acquireEval(keys(resource), worker, want, ttlMs, aimd.max, aimd.initial, waitingMs),
          ([, waitMs, limit, inFlight, granted]) => ({ granted, waitMs, limit, inFlight })
        ),
        "acquire",
        resource
      ),
    release: (resource, member, outcome, aimd) =>
      bounded(
        Effect.map(
          releaseEval(
            keys(resource),
            member,
            outcome.kind,
            outcome.kind === "rate_limited" ? outcome.retryAfterSeconds : undefined,
            aimd
          ),
          ([released, limit, blockedUntilMillis, inFlight, woken]) => ({
            released: released === 1,
            limit,
            blockedUntilMillis,
            inFlight,
            woken
          })
        ),
        "release",
        resource
      ),
    heartbeat: (ttlMs, held) => bounded(heartbeatEval(ttlMs, held), "heartbeat"),
    state: (resource) => {
      const k = keys(resource)
      return bounded(
        Effect.map(
          Effect.all([
            redis.send<Array<string | null>>("HMGET", k.state, "limit", "blockedUntil", "streak", "ceiling"),
            redis.send<number>("ZCARD", k.leases),
            redis.send<unknown>("HGETALL", k.holders)
          ]),
          ([[limit, blockedUntil, streak, ceiling], inFlight, holderList]) => {
            const holders: Record<string, number> = {}
            // RESP2 answers HGETALL as a flat list of field, value; RESP3 as a map.
            if (Array.isArray(holderList)) {
              for (let i = 0; i + 1 < holderList.length; i += 2) {
                holders[String(holderList[i])] = Number(holderList[i + 1])
              }
            } else if (holderList instanceof Map) {
              for (const [field, value] of holderList) holders[String(field)] = Number(value)
            } else if (typeof holderList === "object" && holderList !== null) {
              for (const [field, value] of Object.entries(holderList)) holders[field] = Number(value)
            }
            return {
              limit: limit == null ? undefined : Number(limit),
              blockedUntilMillis: Number(blockedUntil ?? 0),
              inFlight,
              successStreak: Number(streak ?? 0),
              rateLimitCeiling: Number(ceiling ?? 0),
              holders
            }
          }
        ),
        "state",
        resource
      )
    }
  }
}
