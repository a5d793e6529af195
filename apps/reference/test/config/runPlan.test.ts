import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { resolveConfig } from "../fixtures/resolveConfig.js"
import { formatRunPlan, planRun } from "../../src/config/runPlan.js"
import { valid } from "../fixtures/configs.js"

describe("the run plan", () => {
  it.effect("per model: its columns, calls per row and for the run; the bottleneck and its duration at its cap", () =>
    Effect.gen(function*() {
      const loaded = yield* resolveConfig("config.yaml", {
        ...valid,
        providers: [{ name: "local", type: "mock", mock: { capacity: 6, latencyMs: { min: 100, max: 300 } } }],
        models: [
          { alias: "writer", provider: "local", model: "w", maxParallelRequests: 8 },
          { alias: "spare", provider: "local", model: "s", maxParallelRequests: 4 }
        ],
        run: { rows: 120 }
      })
      const plan = planRun(loaded)
      const writer = plan.models[0]!
      assert.deepStrictEqual(writer.columns, ["review", "verdict"])
      assert.strictEqual(writer.callsPerRow, 2)
      assert.strictEqual(writer.expectedCalls, 240)
      // The mock serves 6 at once, shared 8:4 by the two models' caps.
      assert.strictEqual(writer.concurrency, 4)
      assert.strictEqual(writer.estimatedSeconds, 240 * 0.2 / 4)
      assert.strictEqual(plan.bottleneck?.model.alias, "writer")
      const text = formatRunPlan(plan).join("\n")
      assert.include(text, "writer → w on local (embedded mock)")
      assert.include(text, "called by review, verdict: 2 calls per row, 240 calls for the run (before retries)")
      assert.include(
        text,
        "spare → s on local (embedded mock)\n    at most 4 requests in flight (maxParallelRequests)\n    called by no column"
      )
      assert.include(text, "provider local serves at most 6 requests at once, below its models' 12: they share it")
      assert.include(text, "Bound: writer at its cap — estimated duration 12.0 s")
    }))
})
