import { assert, it } from "@effect/vitest"
import { Effect } from "effect"
import { makeScheduler } from "../src/index.js"
import { checkInvariants, memorySink } from "./helpers.js"

it.effect("smoke: three columns", () =>
  Effect.gen(function*() {
    const { sink, written } = memorySink()
    const s = yield* makeScheduler({
      rows: 5,
      bufferSize: 2,
      sink,
      columns: [
        { name: "seed", strategy: "full", generate: ({ rows }) => Effect.succeed(rows.map((_, i) => ({ seed: i }))) },
        { name: "a", strategy: "cell", requires: ["seed"], generate: ({ values }) => Effect.succeed({ a: `${values.seed}-a` }) },
        { name: "b", strategy: "full", requires: ["a"], generate: ({ rows }) => Effect.succeed(rows.map((r) => ({ b: `${r.a}-b` }))) }
      ]
    })
    const result = yield* s.run
    assert.strictEqual(result.rowsCompleted, 5)
    assert.deepStrictEqual(written.map((w) => w.rowGroup), [0, 1, 2])
    assert.deepStrictEqual(written[0]!.rows[1], { seed: 1, a: "1-a", b: "1-a-b" })
    yield* checkInvariants(s, written, result)
  }))
