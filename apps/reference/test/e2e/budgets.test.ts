import { join } from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { jsonSummaryOf, readRows, writeConfig } from "./helpers.js"
import { runCli, tempDir } from "./runCli.js"

// A model's `requestsPerMinute` through the real CLI, against the mock provider's own rpm quota (a token bucket
// with one second of burst that answers 429 beyond it): set just under the provider's rpm (the margin absorbs a
// request admitted on time that reaches the provider a few ms behind a later one), the run stays under it. Without
// it, only the 429s themselves (and their cooldowns) hold the run back: one or more per cooldown.

const RPM = 1200

const config = (requestsPerMinute: number | undefined) => ({
  providers: [{ name: "local", type: "mock", mock: { latencyMs: { min: 5, max: 15 }, rpm: RPM, seed: 5 } }],
  models: [{
    alias: "writer",
    provider: "local",
    model: "mock-writer",
    maxParallelRequests: 16,
    ...(requestsPerMinute === undefined ? {} : { requestsPerMinute })
  }],
  columns: [
    { name: "topic", type: "category", values: ["shoes", "tents", "lamps"] },
    { name: "review", type: "llm-text", model: "writer", prompt: "Review {{ topic }}." }
  ],
  run: { rows: 120, bufferSize: 20 }
})

const generate = (dir: string, name: string, requestsPerMinute: number | undefined) =>
  Effect.gen(function*() {
    const file = writeConfig(dir, `${name}.json`, config(requestsPerMinute))
    const out = join(dir, name)
    const run = yield* runCli(["generate", file, "--out", out, "--json"])
    assert.strictEqual(run.code, 0, run.stderr)
    assert.strictEqual(readRows(out).length, 120)
    return jsonSummaryOf(run.stdout)
  })

describe("requestsPerMinute", () => {
  it.effect(
    "just under the provider's rpm the run draws (almost) no 429s; without it, many",
    () =>
      Effect.gen(function*() {
        const dir = yield* tempDir
        const budgeted = yield* generate(dir, "budgeted", RPM * 0.95)
        const unbudgeted = yield* generate(dir, "unbudgeted", undefined)
        const rejectedWith = budgeted.providers.local.rejected429 as number
        const rejectedWithout = unbudgeted.providers.local.rejected429 as number
        assert.isAtMost(rejectedWith, 1, JSON.stringify(budgeted.providers))
        assert.isAtLeast(rejectedWithout, 5, JSON.stringify(unbudgeted.providers))
        assert.deepStrictEqual(budgeted.leaks, { taskLeases: 0, requestLeases: 0, requestWaiters: 0 })
      }).pipe(Effect.scoped),
    60_000
  )
})
