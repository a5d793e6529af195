import { Deferred, Effect, Exit, Fiber, Layer, Scope } from "effect"
import { ReleaseOutcome, RequestAdmission } from "../dist/index.js"
const resource = { provider: "bench", model: "m", domain: "chat" } as const
const W = Number(process.argv[3] ?? 1000)
const win = (n: number) => Effect.gen(function*() {
  const admission = yield* RequestAdmission
  const scope = yield* Scope.make()
  const held = yield* Scope.provide(admission.acquire({ resource }), scope)
  let count = 0, start = 0, elapsed = 0
  const wd = yield* Deferred.make<void>()
  const body = Effect.sync(() => { if (++count === W) { elapsed = performance.now() - start; Deferred.doneUnsafe(wd, Exit.void) } })
  const fibers = []
  for (let i = 0; i < n; i++) fibers.push(yield* Effect.forkChild(admission.withLease({ resource }, () => body), { startImmediately: true }))
  ;(globalThis as any).gc?.()
  start = performance.now()
  yield* admission.release(held, ReleaseOutcome.success)
  yield* Deferred.await(wd)
  yield* Fiber.joinAll(fibers)
  return elapsed * 1e6 / W
})
const run = (n: number) => Effect.runPromise(Effect.scoped(Effect.flatMap(Layer.build(RequestAdmission.layer({ models: [{ provider: "bench", model: "m", maxParallelRequests: 1 }] })), (c) => Effect.provideContext(win(n), c))))
const ns = process.argv[2]!.split(",").map(Number)
for (let r = 0; r < 3; r++) { const out = []; for (const n of ns) out.push(`${n}:${(await run(n)).toFixed(0)}`); console.log(out.join(" ")) }
