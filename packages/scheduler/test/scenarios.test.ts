import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { heavyRoot } from "../src/scenarios.js"

describe("scenarios", () => {
  it.effect("heavy-root: bounded borrow keeps wall ≤ 34.0 s and peer p95 ≤ 12.4 s", () =>
    Effect.gen(function*() {
      const bounded = yield* heavyRoot()
      const strict = yield* heavyRoot({ policy: "strict-fair" })
      console.log(JSON.stringify({ bounded, strict }))
      assert.isAtMost(bounded.wallSeconds, 34.0)
      assert.isAtMost(bounded.peerWaitSeconds.p95, 12.4)
      assert.strictEqual(bounded.maxModelTasksInFlight, 8)
    }), 60_000)
})
