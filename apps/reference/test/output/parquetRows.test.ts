import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { decodeParquet, encodeParquet } from "../../src/output/parquetRows.js"

describe("Parquet rows", () => {
  it.effect("read back exactly as JSON would hold them, with typed columns", () =>
    Effect.gen(function*() {
      const rows = [
        { text: "a", int: 1, real: 1.5, flag: true, object: { k: [1, "x"] }, mixed: "s", none: null },
        { text: "b\n\"quoted\"", int: -7, real: 2, flag: false, object: null, mixed: 3, none: null },
        { text: null, int: 2147483647, real: -0.25, flag: null, object: { k: [] }, mixed: { a: 1 }, none: null }
      ]
      const back = yield* decodeParquet(encodeParquet(rows))
      assert.strictEqual(back.map((r) => JSON.stringify(r)).join("\n"), rows.map((r) => JSON.stringify(r)).join("\n"))
      assert.deepStrictEqual(yield* decodeParquet(encodeParquet([])), [])
    }))
  it.effect("integers beyond 32 bits stay exact (as doubles)", () =>
    Effect.gen(function*() {
      const rows = [{ n: 2 ** 40 }, { n: 1 }]
      assert.deepStrictEqual(yield* decodeParquet(encodeParquet(rows)), rows)
    }))
})
