import { assert, it } from "@effect/vitest"
import { Effect } from "effect"
import { program } from "../examples/readme.js"

it.effect("the README example fills three columns through request admission", () =>
  Effect.gen(function*() {
    const { result, written } = yield* program
    assert.strictEqual(result.rowsCompleted, 6)
    assert.strictEqual(result.rowsDropped, 0)
    assert.strictEqual(result.maxRequestWaiters, 0)
    assert.deepStrictEqual(written.map((c) => c.rows.length), [3, 3])
    assert.deepStrictEqual(written[0]!.rows[1], {
      topic: "tents",
      review: "Sturdy and dry, a great buy.",
      verdict: "positive"
    })
    assert.deepStrictEqual(written[1]!.rows[0]!.verdict, "neutral")
  }))
