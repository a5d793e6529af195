import { requestResourceKey, type RequestDomain } from "@sluice/scheduling-resources"
import { Effect, Fiber, Layer, Stream } from "effect"
import { RequestAdmission, type RequestAdmissionConfig, type RequestEvent } from "../src/index.js"

export const PROVIDER = "nvidia"
export const MODEL = "nemotron"
export const resource = (domain: RequestDomain = "chat") => requestResourceKey(PROVIDER, MODEL, domain)
export const chat = resource("chat")
export const embedding = resource("embedding")
export const image = resource("image")

/** A controller with nvidia/nemotron registered under alias "default" (cap 2 unless given). */
export const controller = (cap = 2, config: RequestAdmissionConfig = {}) =>
  RequestAdmission.layer({
    ...config,
    models: [{ provider: PROVIDER, model: MODEL, alias: "default", maxParallelRequests: cap }, ...(config.models ?? [])]
  }).pipe(Layer.orDie)

/** Lets scheduled hand-offs, wakes and event flushes run. */
export const settle = Effect.gen(function*() {
  for (let i = 0; i < 8; i++) yield* Effect.yieldNow
})

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
    kinds: () => seen.map((event) => event.kind)
  }
})

export const forkNow = <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.forkChild(effect, { startImmediately: true })

export const leaks = Effect.gen(function*() {
  const admission = yield* RequestAdmission
  const view = yield* admission.inspect
  return { activeLeases: view.activeLeases, waiters: view.waiters }
})

export { Fiber }
