import { Effect, Layer } from "effect"
import pLimit from "p-limit"
import { RequestAdmission } from "../dist/index.js"
const resource = { provider: "bench", model: "m", domain: "chat" } as const
const item = { resource }
const layer = RequestAdmission.layer({ models: [{ provider: "bench", model: "m", maxParallelRequests: 8 }] })
const N = 300_000
const sl = async () => { const limit = pLimit(8); const noop = () => undefined; const s = performance.now(); for (let i = 0; i < N; i++) await limit(noop); return (performance.now() - s) * 1e6 / N }
const prog = Effect.gen(function*() {
  const admission = yield* RequestAdmission
  const out = []
  for (let r = 0; r < 7; r++) {
    const start = performance.now()
    for (let i = 0; i < N; i++) yield* admission.withLease(item, () => Effect.void)
    const w = (performance.now() - start) * 1e6 / N
    const p = yield* Effect.promise(sl)
    out.push(w / p)
  }
  out.sort((a, b) => a - b)
  console.log("ratios", out.map((x) => x.toFixed(2)).join(" "), "median", out[3].toFixed(2))
})
await Effect.runPromise(Effect.scoped(Effect.provide(prog, layer)))
