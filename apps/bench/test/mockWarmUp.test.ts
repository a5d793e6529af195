import { NodeHttpClient } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { startMockEndpoint } from "../src/mockHost.js"
import { type MockOptionsInput, startMockProvider } from "@sluice/mock-provider"
import { chatBody, postChat } from "./chat.js"

// One undici dispatcher per test, destroyed when the test ends (no sockets outlive it).
const live = <A, E, R>(effect: Effect.Effect<A, E, R>) => effect.pipe(Effect.provide(NodeHttpClient.layerUndici))

const statusesOf = (url: string, count: number) =>
  Effect.forEach(
    Array.from({ length: count }, (_, i) => i),
    (i) => Effect.map(postChat(url, chatBody(`request ${i}`)), (answer) => answer.status)
  )

describe("bench: mock warm-up", () => {
  // Half the answers are seeded 500/503s: the status sequence shows exactly which draws each request took.
  const errorProne: MockOptionsInput = { capacity: 4, latencyMs: { min: 0, max: 2 }, serverErrorRate: 0.5, seed: 11 }

  it.live("leaves the endpoint as a fresh one: zero counters, and not one seeded draw taken", () =>
    live(Effect.gen(function*() {
      const warmed = yield* startMockEndpoint(errorProne, "in-process")
      const before = yield* warmed.stats
      assert.deepInclude(before, {
        served: 0,
        rejected429: 0,
        badRequests: 0,
        serverErrors: 0,
        maxConcurrent: 0,
        inFlight: 0
      })
      assert.strictEqual(before.slotHandOver.count, 0)
      assert.strictEqual(before.slotHandOver.startupCount, 0)

      const fresh = yield* startMockProvider(errorProne)
      const expected = yield* statusesOf(fresh.url, 12)
      assert.includeMembers(expected, [200, 500], "the seed gives both outcomes, so a shifted stream would show")
      assert.deepStrictEqual(yield* statusesOf(warmed.url, 12), expected)
    })))

  it.live("rests an rpm endpoint until its whole burst is available again", () =>
    live(Effect.gen(function*() {
      // burst = 180 / 60 = 3 tokens; the warm-up's 2 × 2 × 4 requests emptied the bucket.
      const endpoint = yield* startMockEndpoint({ capacity: 4, rpm: 180, latencyMs: { min: 0, max: 0 } }, "in-process")
      assert.deepStrictEqual(yield* statusesOf(endpoint.url, 4), [200, 200, 200, 429])
    })))
})
