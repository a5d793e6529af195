import { assert, it } from "@effect/vitest"
import { Deferred, Effect, Fiber } from "effect"
import { ReleaseOutcome, RequestAdmission } from "../src/index.js"
import { chat, controller, embedding, leaks } from "./helpers.js"

const contend = (groups: ReadonlyArray<{ key: string; weight: number; resource: typeof chat }>, total: number) =>
  Effect.gen(function*() {
    const admission = yield* RequestAdmission
    const counts = new Map<string, number>()
    let admitted = 0
    const done = yield* Deferred.make<void>()
    const worker = (group: (typeof groups)[number]) =>
      Effect.forever(
        Effect.scoped(
          Effect.gen(function*() {
            const lease = yield* admission.acquire({
              resource: group.resource,
              group: { key: group.key, weight: group.weight }
            })
            counts.set(group.key, (counts.get(group.key) ?? 0) + 1)
            if (++admitted === total) yield* Deferred.succeed(done, undefined)
            yield* Effect.yieldNow
            yield* admission.release(lease, ReleaseOutcome.success)
          })
        )
      )
    const fibers = []
    // eight workers per group keep both groups backlogged for the whole run
    for (const group of groups) for (let i = 0; i < 8; i++) fibers.push(yield* Effect.forkChild(worker(group)))
    yield* Deferred.await(done)
    yield* Fiber.interruptAll(fibers)
    assert.deepStrictEqual(yield* leaks, { activeLeases: 0, waiters: 0 })
    return counts
  })

it.effect("weights 3 and 1 sharing one aggregate cap get 3:1 of 10k admissions (±5 %)", () =>
  Effect.gen(function*() {
    const counts = yield* contend([{ key: "heavy", weight: 3, resource: chat }, {
      key: "light",
      weight: 1,
      resource: chat
    }], 10_000)
    const ratio = counts.get("heavy")! / counts.get("light")!
    assert.isAtLeast(ratio, 3 * 0.95, `ratio ${ratio}`)
    assert.isAtMost(ratio, 3 * 1.05, `ratio ${ratio}`)
  }).pipe(Effect.provide(controller(4))), 30_000)

it.effect(
  "groups on different domains of one provider/model share the cap by weight too",
  () =>
    Effect.gen(function*() {
      const counts = yield* contend([{ key: "heavy", weight: 3, resource: chat }, {
        key: "light",
        weight: 1,
        resource: embedding
      }], 10_000)
      const ratio = counts.get("heavy")! / counts.get("light")!
      assert.isAtLeast(ratio, 3 * 0.95, `ratio ${ratio}`)
      assert.isAtMost(ratio, 3 * 1.05, `ratio ${ratio}`)
    }).pipe(Effect.provide(controller(2))),
  30_000
)
