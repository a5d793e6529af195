import { ModelRateLimitError } from "@sluice/errors"
import { type RequestDomain, requestResourceKey, type RequestResourceKey } from "@sluice/scheduling-resources"
import { Clock, Effect, Fiber, PubSub, Stream } from "effect"
import { TestClock } from "effect/testing"
import type { RequestCapacitySource, RequestCapacityView } from "../src/index.js"

/**
 * A small request layer for tests: per endpoint (provider/model/domain, `chat` unless given) a limit, a cooldown
 * after a 429 (limit × 0.75), in-flight and waiter counts, and capacity views published on every change — the
 * contract `@sluice/request-admission` offers.
 */
export interface FakeEndpoint {
  readonly key: RequestResourceKey
  limit: number
  readonly staticCap: number
  open: boolean
  blockedUntil: number | null
  inFlight: number
  waiters: number
  maxWaiters: number
  maxInFlight: number
}

export const makeFakeRequestLayer = (
  endpoints: ReadonlyArray<{ provider: string; model: string; cap: number; domain?: RequestDomain }>
) =>
  Effect.gen(function*() {
    const pubsub = yield* PubSub.unbounded<RequestCapacityView>()
    const byLabel = new Map<string, FakeEndpoint>()
    for (const e of endpoints) {
      byLabel.set(`${e.provider}/${e.model}/${e.domain ?? "chat"}`, {
        key: requestResourceKey(e.provider, e.model, e.domain ?? "chat"),
        limit: e.cap,
        staticCap: e.cap,
        open: true,
        blockedUntil: null,
        inFlight: 0,
        waiters: 0,
        maxWaiters: 0,
        maxInFlight: 0
      })
    }
    const view = (e: FakeEndpoint): RequestCapacityView => ({
      resource: e.key,
      limit: e.limit,
      staticCap: e.staticCap,
      open: e.open,
      blockedUntilMillis: e.blockedUntil,
      inFlight: e.inFlight,
      waiters: e.waiters
    })
    const endpoint = (provider: string, model: string, domain: RequestDomain = "chat") =>
      byLabel.get(`${provider}/${model}/${domain}`)!
    const source: RequestCapacitySource = {
      capacity: (resource) => Effect.sync(() => view(endpoint(resource.provider, resource.model, resource.domain))),
      capacityChanges: Stream.fromPubSub(pubsub)
    }
    const publish = (e: FakeEndpoint) => PubSub.publish(pubsub, view(e))

    /** One provider call through the layer: waits (as a waiter) while closed or full, then holds a lease. */
    const call = (
      provider: string,
      model: string,
      latencyMs: number,
      answer: { readonly rateLimitRetryAfter?: number } = {},
      domain: RequestDomain = "chat"
    ) =>
      Effect.gen(function*() {
        const e = endpoint(provider, model, domain)
        if (!e.open || e.inFlight >= e.limit) {
          e.waiters++
          e.maxWaiters = Math.max(e.maxWaiters, e.waiters)
          while (!(e.open && e.inFlight < e.limit)) yield* Effect.sleep(10)
          e.waiters--
        }
        e.inFlight++
        e.maxInFlight = Math.max(e.maxInFlight, e.inFlight)
        yield* Effect.sleep(latencyMs).pipe(Effect.ensuring(Effect.sync(() => void e.inFlight--)))
        if (answer.rateLimitRetryAfter !== undefined) {
          const now = yield* Clock.currentTimeMillis
          e.limit = Math.max(1, Math.floor(e.limit * 0.75))
          e.open = false
          e.blockedUntil = now + answer.rateLimitRetryAfter * 1000
          yield* publish(e)
          yield* Effect.forkDetach(
            Effect.sleep(answer.rateLimitRetryAfter * 1000).pipe(
              Effect.andThen(Effect.suspend(() => {
                e.open = true
                e.blockedUntil = null
                return publish(e)
              }))
            )
          )
          return yield* Effect.fail(
            new ModelRateLimitError({
              provider,
              model,
              status: 429,
              retryAfterSeconds: answer.rateLimitRetryAfter,
              reason: "rate limited",
              solution: "wait"
            })
          )
        }
      })

    const leases = () => [...byLabel.values()].reduce((n, e) => n + e.inFlight, 0)
    const waiters = () => [...byLabel.values()].reduce((n, e) => n + e.waiters, 0)
    return { source, call, endpoint, probe: { leases, waiters } }
  })

/** Advances the TestClock in steps until the fiber finishes (or `maxMs` of virtual time passed). */
export const driveClock = <A, E>(fiber: Fiber.Fiber<A, E>, stepMs = 10, maxMs = 600_000) =>
  Effect.gen(function*() {
    let elapsed = 0
    while (fiber.pollUnsafe() === undefined && elapsed < maxMs) {
      yield* TestClock.adjust(stepMs)
      elapsed += stepMs
    }
    return yield* Fiber.await(fiber)
  })
