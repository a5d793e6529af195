// `pnpm --filter @sluice/request-admission bench`: admission costs on the built package (dist/).
// Prints a Markdown table, then one JSON object as the last line.
import { Deferred, Effect, Exit, Fiber, Layer, Scope } from "effect"
import pLimit from "p-limit"
import { ReleaseOutcome, RequestAdmission } from "../dist/index.js"

const resource = { provider: "bench", model: "m", domain: "chat" } as const
const item = { resource }
const layer = (cap: number) =>
  RequestAdmission.layer({ models: [{ provider: "bench", model: "m", maxParallelRequests: cap }] })

const median = (xs: Array<number>) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!

const timeEffect = <E>(effect: Effect.Effect<void, E, RequestAdmission>, cap: number) =>
  Effect.runPromise(
    Effect.scoped(
      Effect.gen(function*() {
        const context = yield* Layer_build(cap)
        const start = performance.now()
        yield* Effect.provideContext(effect, context)
        return performance.now() - start
      })
    )
  )

const Layer_build = (cap: number) => Layer.build(layer(cap))

// ---------------------------------------------------------------- uncontended

const UNCONTENDED = 200_000

const uncontended = Effect.gen(function*() {
  const admission = yield* RequestAdmission
  for (let i = 0; i < UNCONTENDED; i++) yield* admission.withLease(item, () => Effect.void)
})

const scopedAcquireRelease = Effect.gen(function*() {
  const admission = yield* RequestAdmission
  for (let i = 0; i < UNCONTENDED; i++) {
    const scope = Scope.makeUnsafe()
    const lease = yield* Scope.provide(admission.acquire(item), scope)
    yield* admission.release(lease, ReleaseOutcome.success)
    yield* Scope.close(scope, Exit.void)
  }
})

const pLimitRun = async () => {
  const limit = pLimit(8)
  const noop = () => undefined
  const start = performance.now()
  for (let i = 0; i < UNCONTENDED; i++) await limit(noop)
  return performance.now() - start
}

// ---------------------------------------------------------------- hand-off under a queue of n waiters

// n workers loop on acquire → release with cap 1, so n − 1 of them are always queued; we time
// HANDOFFS release-to-waiter hand-offs in that steady state (after a warm-up).
const HANDOFFS = 50_000
const WARMUP = 2_000

const handoff = (n: number) =>
  Effect.gen(function*() {
    const admission = yield* RequestAdmission
    let count = 0
    let startAt = Infinity
    let start = 0
    let elapsed = 0
    const done = yield* Deferred.make<void>()
    // the holder yields once while holding, so that the others really queue behind it
    const body = Effect.andThen(
      Effect.yieldNow,
      Effect.sync(() => {
        count++
        if (count === startAt) start = performance.now()
        if (count === startAt + HANDOFFS) {
          elapsed = performance.now() - start
          Deferred.doneUnsafe(done, Exit.void)
        }
      })
    )
    const fibers: Array<Fiber.Fiber<unknown, unknown>> = []
    for (let i = 0; i < n; i++) {
      // 64 fairness groups so the flow heap is exercised too
      const worker = admission.withLease({ resource, group: { key: `g${i % 64}`, weight: 1 + (i % 3) } }, () => body)
      fibers.push(yield* Effect.forkChild(Effect.forever(worker), { startImmediately: true }))
    }
    // every worker is forked and parked: time from the next WARMUP hand-offs on
    startAt = count + WARMUP
    const queued = (yield* admission.inspect).waiters
    if (queued < n - 2) throw new Error(`expected ${n - 1} queued waiters, saw ${queued}`)
    yield* Deferred.await(done)
    yield* Fiber.interruptAll(fibers)
    const view = yield* admission.inspect
    if (view.activeLeases !== 0 || view.waiters !== 0) throw new Error("leak in hand-off bench")
    return (elapsed * 1e6) / HANDOFFS
  })

const runHandoff = (n: number) =>
  Effect.runPromise(Effect.scoped(Effect.flatMap(Layer_build(1), (ctx) => Effect.provideContext(handoff(n), ctx))))

// ---------------------------------------------------------------- heap per waiter

const heapPerWaiter = (n: number) =>
  Effect.runPromise(
    Effect.scoped(
      Effect.gen(function*() {
        const context = yield* Layer_build(1)
        return yield* Effect.provideContext(
          Effect.gen(function*() {
            const admission = yield* RequestAdmission
            const scope = yield* Scope.make()
            const held = yield* Scope.provide(admission.acquire(item), scope)
            const gc = (globalThis as { gc?: () => void }).gc
            gc?.()
            const before = process.memoryUsage().heapUsed
            const fibers: Array<Fiber.Fiber<void, unknown>> = []
            for (let i = 0; i < n; i++) {
              fibers.push(
                yield* Effect.forkChild(Effect.scoped(Effect.asVoid(admission.acquire(item))), {
                  startImmediately: true
                })
              )
            }
            gc?.()
            const after = process.memoryUsage().heapUsed
            yield* Effect.forEach(fibers, Fiber.interrupt, { discard: true })
            yield* admission.release(held, ReleaseOutcome.success)
            yield* Scope.close(scope, Exit.void)
            return (after - before) / n
          }),
          context
        )
      })
    )
  )

// ---------------------------------------------------------------- run

// Rounds alternate p-limit and ours so that machine noise hits both alike; medians are reported.
const rounds = 7
const ours: Array<number> = []
const scoped: Array<number> = []
const theirs: Array<number> = []
const ratios: Array<number> = []
for (let r = 0; r < rounds; r++) {
  const them = ((await pLimitRun()) * 1e6) / UNCONTENDED
  const us = ((await timeEffect(uncontended, 8)) * 1e6) / UNCONTENDED
  theirs.push(them)
  ours.push(us)
  ratios.push(us / them)
  scoped.push(((await timeEffect(scopedAcquireRelease, 8)) * 1e6) / UNCONTENDED)
}
await runHandoff(1_000) // warm-up
const h1k: Array<number> = []
const h100k: Array<number> = []
const handoffRatios: Array<number> = []
for (let r = 0; r < 5; r++) {
  const small = await runHandoff(1_000)
  const large = await runHandoff(100_000)
  h1k.push(small)
  h100k.push(large)
  handoffRatios.push(large / small)
}
const heap = await heapPerWaiter(50_000)

const result = {
  uncontendedNsPerOp: Math.round(median(ours)),
  scopedAcquireReleaseNsPerOp: Math.round(median(scoped)),
  pLimitNsPerOp: Math.round(median(theirs)),
  uncontendedVsPLimit: Number(median(ratios).toFixed(2)),
  handoffNsPerOp1k: Math.round(median(h1k)),
  handoffNsPerOp100k: Math.round(median(h100k)),
  handoff100kVs1k: Number(median(handoffRatios).toFixed(2)),
  heapBytesPerWaiter: Math.round(heap),
  node: process.version
}

console.log("| measure | value |")
console.log("|---|---:|")
console.log(`| uncontended \`withLease\` (acquire + release of a free lease) | ${result.uncontendedNsPerOp} ns/op |`)
console.log(`| uncontended scoped \`acquire\` + \`release\` | ${result.scopedAcquireReleaseNsPerOp} ns/op |`)
console.log(`| same work through \`p-limit\` | ${result.pLimitNsPerOp} ns/op |`)
console.log(`| ratio to p-limit (bar ≤ 3) | ${result.uncontendedVsPLimit} |`)
console.log(`| release-to-waiter hand-off, backlog of 1k waiters | ${result.handoffNsPerOp1k} ns/op |`)
console.log(`| release-to-waiter hand-off, backlog of 100k waiters | ${result.handoffNsPerOp100k} ns/op |`)
console.log(`| 100k ÷ 1k, median of per-round ratios (bar ≤ 2) | ${result.handoff100kVs1k} |`)
console.log(`| heap per queued waiter (incl. its fiber) | ${result.heapBytesPerWaiter} B |`)
console.log(JSON.stringify(result))
