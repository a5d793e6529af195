import { ModelAuthenticationError, ModelInternalServerError, ModelRateLimitError } from "@sluice/errors"
import { assert, describe, it } from "@effect/vitest"
import { Clock, Effect, Fiber, Stream } from "effect"
import { TestClock } from "effect/testing"
import { modelMetadata } from "@sluice/resolver"
import { type Checkpoint, makeScheduler, type SchedulerStats } from "../src/index.js"
import { driveClock, makeFakeRequestLayer } from "./fakes.js"
import { checkInvariants, memorySink, runTest } from "./helpers.js"

const facts = { provider: "p", model: "m", reason: "r", solution: "s" }

describe("1. live request capacity", () => {
  it.effect("after a 429 drops the limit from 8 to 6, at most 6 model tasks hold leases and no request waiter appears", () =>
    Effect.gen(function*() {
      const layer = yield* makeFakeRequestLayer([{ provider: "pa", model: "m", cap: 8 }])
      let first = true
      let active = 0
      let maxActiveAfterDrop = 0
      let maxActive = 0
      const { result } = yield* runTest(
        {
          rows: 48,
          bufferSize: 16,
          columns: [{
            name: "gen",
            strategy: "cell",
            scheduling: modelMetadata("pa", "m", "chat", 8),
            generate: () =>
              Effect.gen(function*() {
                const isFirst = first
                first = false
                const now = yield* Clock.currentTimeMillis
                active++
                maxActive = Math.max(maxActive, active)
                if (now >= 100) maxActiveAfterDrop = Math.max(maxActiveAfterDrop, active)
                yield* layer.call("pa", "m", isFirst ? 100 : 1000, isFirst ? { rateLimitRetryAfter: 2 } : {}).pipe(
                  Effect.ensuring(Effect.sync(() => active--))
                )
                return { gen: 1 }
              })
          }]
        },
        { requestCapacity: layer.source },
        { requestLayer: layer.probe }
      )
      assert.strictEqual(maxActive, 8)
      assert.strictEqual(maxActiveAfterDrop, 6)
      assert.strictEqual(layer.endpoint("pa", "m").maxWaiters, 0)
      assert.strictEqual(result.maxRequestWaiters, 0)
      assert.strictEqual(result.rowsCompleted, 48)
      assert.deepStrictEqual(result.runtimeRequestLimits, [
        { resource: "request:pa/m", staticLimit: 8, currentLimit: 6, minObservedLimit: 6, open: true }
      ])
      const planned = result.capacityPlan.entries.filter((e) => e.name === "request:pa/m")
      assert.deepStrictEqual(planned.map((e) => [e.source, e.value]), [["model_metadata", 8], ["runtime", 6]])
    }))

  it.effect("while provider A cools down, provider B's ready tasks keep every B slot busy", () =>
    Effect.gen(function*() {
      const layer = yield* makeFakeRequestLayer([{ provider: "pa", model: "m", cap: 4 }, {
        provider: "pb",
        model: "m",
        cap: 4
      }])
      let first = true
      const samples: Array<number> = []
      const sampler = yield* Effect.forkChild(
        Effect.forEach([1000, 2000, 3000, 4000, 5000], (t) =>
          Effect.gen(function*() {
            yield* Effect.sleep(t - (yield* Clock.currentTimeMillis))
            samples.push(layer.endpoint("pb", "m").inFlight)
          })),
        { startImmediately: true }
      )
      const { result } = yield* runTest(
        {
          rows: 40,
          bufferSize: 40,
          columns: [
            {
              name: "a",
              strategy: "cell",
              scheduling: modelMetadata("pa", "m", "chat", 4),
              generate: () =>
                Effect.suspend(() => {
                  const isFirst = first
                  first = false
                  return layer.call("pa", "m", isFirst ? 100 : 500, isFirst ? { rateLimitRetryAfter: 5 } : {})
                }).pipe(Effect.as({ a: 1 }))
            },
            {
              name: "b",
              strategy: "cell",
              scheduling: modelMetadata("pb", "m", "chat", 4),
              generate: () => layer.call("pb", "m", 500).pipe(Effect.as({ b: 1 }))
            }
          ]
        },
        { requestCapacity: layer.source, maxInFlightTasks: 6 },
        { requestLayer: layer.probe }
      )
      yield* Fiber.join(sampler)
      assert.deepStrictEqual(samples, [4, 4, 4, 4, 4])
      assert.strictEqual(layer.endpoint("pa", "m").maxWaiters + layer.endpoint("pb", "m").maxWaiters, 0)
      assert.strictEqual(result.rowsCompleted, 40)
    }))
})

describe("1b. request capacity per domain", () => {
  it.effect("chat cooling down does not stall an embedding column on the same provider/model", () =>
    Effect.gen(function*() {
      const layer = yield* makeFakeRequestLayer([
        { provider: "p", model: "m", cap: 4, domain: "chat" },
        { provider: "p", model: "m", cap: 4, domain: "embedding" }
      ])
      let first = true
      const embeddedAt: Array<number> = []
      const samples: Array<number> = []
      const sampler = yield* Effect.forkChild(
        Effect.forEach([1000, 2000], (t) =>
          Effect.gen(function*() {
            yield* Effect.sleep(t - (yield* Clock.currentTimeMillis))
            samples.push(layer.endpoint("p", "m", "embedding").inFlight)
          })),
        { startImmediately: true }
      )
      const { result } = yield* runTest(
        {
          rows: 16,
          bufferSize: 16,
          columns: [
            {
              name: "chat",
              strategy: "cell",
              scheduling: modelMetadata("p", "m", "chat", 4),
              generate: () =>
                Effect.suspend(() => {
                  const isFirst = first
                  first = false
                  // The first chat call is a 429 with Retry-After 5 s: chat cools down until t = 5.1 s.
                  return layer.call("p", "m", isFirst ? 100 : 200, isFirst ? { rateLimitRetryAfter: 5 } : {}, "chat")
                }).pipe(Effect.as({ chat: 1 }))
            },
            {
              name: "embedding",
              strategy: "cell",
              scheduling: modelMetadata("p", "m", "embedding", 4),
              generate: () =>
                layer.call("p", "m", 500, {}, "embedding").pipe(
                  Effect.andThen(Clock.currentTimeMillis),
                  Effect.map((t) => {
                    embeddedAt.push(t)
                    return { embedding: 1 }
                  })
                )
            }
          ]
        },
        { requestCapacity: layer.source },
        { requestLayer: layer.probe }
      )
      yield* Fiber.join(sampler)
      // Every embedding slot stays busy during the chat cooldown, and the column finishes long before it ends.
      assert.deepStrictEqual(samples, [4, 4])
      assert.strictEqual(embeddedAt.length, 16)
      assert.isBelow(Math.max(...embeddedAt), 5_000)
      assert.strictEqual(result.rowsCompleted, 16)
      assert.strictEqual(
        layer.endpoint("p", "m", "chat").maxWaiters + layer.endpoint("p", "m", "embedding").maxWaiters,
        0
      )
      assert.deepStrictEqual(result.runtimeRequestLimits, [
        { resource: "request:p/m", staticLimit: 4, currentLimit: 4, minObservedLimit: 4, open: true }
      ])
      const domains = result.capacityPlan.entries.filter((e) => e.name.startsWith("request:p/m/"))
      assert.deepStrictEqual(domains.map((e) => [e.name, e.value]), [["request:p/m/chat", 3], [
        "request:p/m/embedding",
        4
      ]])
    }))
})

describe("2. retry ledger instead of salvage rounds", () => {
  it.effect("a row group waiting on Retry-After 3 s neither blocks others nor retries early", () =>
    Effect.gen(function*() {
      const calls: Array<number> = []
      const checkpointedAt = new Map<number, number>()
      const written: Array<Checkpoint> = []
      const { result } = yield* runTest(
        {
          rows: 6,
          bufferSize: 2,
          sink: {
            write: (c) =>
              Clock.currentTimeMillis.pipe(Effect.map((t) => {
                checkpointedAt.set(c.rowGroup, t)
                written.push(c)
              }))
          },
          columns: [{
            name: "x",
            strategy: "cell",
            generate: ({ row }) =>
              Effect.gen(function*() {
                yield* Effect.sleep(100)
                if (row !== 0) return { x: row }
                calls.push(yield* Clock.currentTimeMillis)
                if (calls.length === 1) {
                  return yield* Effect.fail(new ModelRateLimitError({ ...facts, status: 429, retryAfterSeconds: 3 }))
                }
                return { x: row }
              })
          }]
        },
        { maxConcurrentRowGroups: 2 },
        { written }
      )
      assert.strictEqual(calls.length, 2)
      assert.isAtLeast(calls[1]! - calls[0]!, 3000)
      assert.deepStrictEqual([...checkpointedAt.keys()], [1, 2, 0])
      assert.isBelow(checkpointedAt.get(2)!, 1000)
      assert.isAtLeast(checkpointedAt.get(0)!, 3100)
      assert.strictEqual(result.rowsCompleted, 6)
    }))
})

describe("3. dropped rows purge their queued tasks", () => {
  it.effect("queued and retrying tasks of a dropped row are neither run nor counted", () =>
    Effect.gen(function*() {
      const bCalls: Array<number> = []
      const cCalls: Array<number> = []
      const { result, events } = yield* runTest({
        rows: 3,
        bufferSize: 3,
        columns: [
          {
            name: "a",
            strategy: "cell",
            generate: ({ row }) =>
              Effect.sleep(50).pipe(
                Effect.andThen(
                  row === 0 ? Effect.fail(new ModelAuthenticationError(facts)) : Effect.succeed({ a: row })
                )
              )
          },
          { name: "b", strategy: "cell", generate: ({ row }) => Effect.sync(() => (bCalls.push(row), { b: row })) },
          {
            name: "c",
            strategy: "cell",
            generate: ({ row }) =>
              Effect.sync(() => cCalls.push(row)).pipe(
                Effect.andThen(
                  row === 0 ? Effect.fail(new ModelInternalServerError(facts)) : Effect.succeed({ c: row })
                )
              )
          }
        ]
      }, { maxInFlightTasks: 1, earlyShutdown: false, stopOnKinds: [] })
      // a(0) runs first and drops row 0 while b(0) is queued and c(0) ... never gets a slot before the drop.
      assert.notInclude(bCalls, 0)
      assert.strictEqual(cCalls.filter((r) => r === 0).length, 0)
      assert.deepStrictEqual(result.outcomes, { authentication: 1, success: 6 })
      assert.isFalse(
        events.some((e) => e._tag === "task_completed" && e.taskId.startsWith("cell:0:0:") && e.column !== "a")
      )
    }))

  it.effect("a row dropped while its task waits in the retry ledger is never retried", () =>
    Effect.gen(function*() {
      const bCalls: Array<number> = []
      const { result } = yield* runTest({
        rows: 2,
        bufferSize: 2,
        columns: [
          {
            name: "a",
            strategy: "cell",
            generate: ({ row }) =>
              Effect.sleep(200).pipe(
                Effect.andThen(
                  row === 0 ? Effect.fail(new ModelAuthenticationError(facts)) : Effect.succeed({ a: row })
                )
              )
          },
          {
            name: "b",
            strategy: "cell",
            generate: ({ row }) =>
              Effect.sync(() => bCalls.push(row)).pipe(
                Effect.andThen(
                  row === 0 ? Effect.fail(new ModelInternalServerError(facts)) : Effect.succeed({ b: row })
                )
              )
          }
        ]
      }, { earlyShutdown: false, stopOnKinds: [] })
      assert.deepStrictEqual(bCalls, [0, 1])
      assert.deepStrictEqual(result.dropCauses, { authentication: 1 })
      assert.deepStrictEqual(result.outcomes, { internal_server: 1, authentication: 1, success: 2 })
    }))
})

describe("4. checkpointed row groups are compacted", () => {
  it.effect("a 100k-row run keeps scheduler state bounded by the admitted row groups", () =>
    Effect.gen(function*() {
      const samples: Array<SchedulerStats> = []
      let stats: Effect.Effect<SchedulerStats> = Effect.die("not started")
      let rows = 0
      const scheduler = yield* makeScheduler({
        rows: 100_000,
        bufferSize: 1000,
        sink: {
          write: (c: Checkpoint) =>
            Effect.map(stats, (s) => {
              rows += c.rows.length
              samples.push(s)
            })
        },
        columns: [
          { name: "a", strategy: "cell", generate: ({ row }) => Effect.succeed({ a: row }) },
          {
            name: "b",
            strategy: "cell",
            requires: ["a"],
            generate: ({ values }) => Effect.succeed({ b: Number(values.a) + 1 })
          }
        ]
      })
      stats = scheduler.stats
      const result = yield* scheduler.run
      assert.strictEqual(result.rowsCompleted, 100_000)
      assert.strictEqual(rows, 100_000)
      assert.strictEqual(samples.length, 100)
      for (const s of samples) {
        assert.isAtMost(s.activeRowGroups, 3)
        assert.isAtMost(s.liveTasks, 3 * 1000 * 2)
        assert.isAtMost(s.queuedTasks, 3 * 1000 * 2)
        assert.isAtMost(s.queueFifoSlots, 3 * 1000 * 2 + 2 * 2048)
        assert.isAtMost(s.queueHeapEntries, 2)
        assert.strictEqual(s.retryHeapEntries, 0)
      }
      const end = yield* scheduler.stats
      assert.deepInclude(end, { activeRowGroups: 0, liveTasks: 0, queuedTasks: 0, taskLeases: 0, runningTasks: 0 })
      assert.strictEqual(end.checkpointedRowGroups, 100)
    }), 60_000)
})

describe("5. interruption", () => {
  it.effect("cancelling run releases every task and request lease and leaves only whole row groups", () =>
    Effect.gen(function*() {
      const layer = yield* makeFakeRequestLayer([{ provider: "pa", model: "m", cap: 4 }])
      const { sink, written } = memorySink()
      const scheduler = yield* makeScheduler({
        rows: 40,
        bufferSize: 4,
        sink,
        columns: [
          { name: "seed", strategy: "cell", generate: ({ row }) => Effect.succeed({ seed: row }) },
          {
            name: "llm",
            strategy: "cell",
            requires: ["seed"],
            scheduling: modelMetadata("pa", "m", "chat", 4),
            generate: ({ row }) => layer.call("pa", "m", 700 + (row % 3) * 100).pipe(Effect.as({ llm: row }))
          }
        ]
      }, { requestCapacity: layer.source })
      const events = yield* Effect.forkChild(Stream.runCollect(scheduler.events), { startImmediately: true })
      const fiber = yield* Effect.forkChild(scheduler.run, { startImmediately: true })
      yield* TestClock.adjust(2_450)
      assert.isAbove(layer.probe.leases(), 0)
      assert.isAbove(written.length, 0)
      yield* Fiber.interrupt(fiber)
      for (const c of written) assert.strictEqual(c.rows.length, c.size)
      const collected = yield* Fiber.join(events)
      assert.isTrue(collected.some((e) => e._tag === "cancelled"))
      const last = collected.at(-1)
      assert.isTrue(last?._tag === "scheduler_job_completed" && last.outcome === "cancelled")
      yield* checkInvariants(scheduler, written, undefined, layer.probe)
      void driveClock
    }))
})
