import { assert } from "@effect/vitest"
import { type RequestDomain, requestResourceKey } from "@sluice/scheduling-resources"
import { Effect, Fiber, Layer, Stream } from "effect"
import { internalsOf } from "../src/internal/AdmissionInternals.js"
import {
  RequestAdmission,
  type RequestAdmissionConfigInput,
  type RequestEvent,
  type RequestEventOf,
  type RequestEventTag
} from "../src/index.js"

export const PROVIDER = "nvidia"
export const MODEL = "nemotron"
export const resource = (domain: RequestDomain = "chat") => requestResourceKey(PROVIDER, MODEL, domain)
export const chat = resource("chat")
export const embedding = resource("embedding")
export const image = resource("image")

/** A controller with nvidia/nemotron registered under alias "default" (cap 2 unless given). */
export const controller = (cap = 2, config: RequestAdmissionConfigInput = {}) =>
  RequestAdmission.layer({
    ...config,
    models: [{ provider: PROVIDER, model: MODEL, alias: "default", maxParallelRequests: cap }, ...(config.models ?? [])]
  }).pipe(Layer.orDie)

/** Lets scheduled hand-offs, wakes and event flushes run. */
export const settle = Effect.gen(function*() {
  for (let i = 0; i < 8; i++) yield* Effect.yieldNow
})

/** The events with one tag, typed as that member of the union. */
export const ofTag = <Tag extends RequestEventTag>(
  events: ReadonlyArray<RequestEvent>,
  tag: Tag
): Array<RequestEventOf<Tag>> => events.filter((event): event is RequestEventOf<Tag> => event._tag === tag)

/** Subscribes to events now; `take` returns everything seen so far. */
export const recordEvents = Effect.gen(function*() {
  const admission = yield* RequestAdmission
  const seen: Array<RequestEvent> = []
  yield* admission.events.pipe(
    Stream.runForEach((event) => Effect.sync(() => seen.push(event))),
    Effect.forkChild({ startImmediately: true })
  )
  yield* settle
  return {
    seen,
    tags: () => seen.map((event) => event._tag),
    ofTag: <Tag extends RequestEventTag>(tag: Tag) => ofTag(seen, tag)
  }
})

export const forkNow = <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.forkChild(effect, { startImmediately: true })

export const leaks = Effect.gen(function*() {
  const admission = yield* RequestAdmission
  const view = yield* admission.inspect
  return { activeLeases: view.activeLeases, waiters: view.waiters }
})

/** The controller's internal views (queue state, semaphores). */
export const internals = RequestAdmission.useSync((admission) => internalsOf(admission)!)

export const queueStateSize = Effect.flatMap(internals, (i) => i.queueStateSize)

/**
 * Every semaphore is back to the size its limit calls for, with no resize pending: nothing holds a permit. Lets
 * the outbox and timers settle first.
 */
export const assertPermitsAtRest = (message = "permits at rest") =>
  Effect.gen(function*() {
    yield* settle
    const view = yield* Effect.flatMap(internals, (i) => i.permits)
    for (const permits of [...view.pools, ...view.domains]) {
      assert.strictEqual(permits.resizing, 0, `${message}: ${permits.label} resizing`)
      assert.strictEqual(
        permits.free,
        permits.size,
        `${message}: ${permits.label} free ${permits.free}/${permits.size}`
      )
    }
  })

export { Fiber }
