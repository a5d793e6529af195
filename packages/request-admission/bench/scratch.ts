import { Clock, Effect, Layer } from "effect"
import { RequestAdmission } from "../dist/index.js"
const N = 300_000
const resource = { provider: "bench", model: "m", domain: "chat" } as const
const item = { resource }
const time = async (name: string, e: Effect.Effect<void, unknown, RequestAdmission>) => {
  await Effect.runPromise(Effect.scoped(Effect.gen(function*() {
    const ctx = yield* Layer.build(RequestAdmission.layer({ models: [{ provider: "bench", model: "m", maxParallelRequests: 8 }] }))
    const t = performance.now()
    yield* Effect.provideContext(e, ctx)
    console.log(name, (((performance.now() - t) * 1e6) / N).toFixed(0))
  })))
}
const withLease = Effect.gen(function*() { const a = yield* RequestAdmission; for (let i = 0; i < N; i++) yield* a.withLease(item, () => Effect.void) })
const getref = Effect.gen(function*() { for (let i = 0; i < N; i++) yield* Effect.withFiber((f) => { f.getRef(Clock.Clock).currentTimeMillisUnsafe(); return Effect.void }) })
for (let r = 0; r < 3; r++) { await time("withLease", withLease); await time("getRef", getref) }
