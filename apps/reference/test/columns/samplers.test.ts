import { assert, describe, it } from "@effect/vitest"
import { cellRandom, sampleCategory, sampleUniform, sampleUuid } from "../../src/columns/samplers.js"

describe("samplers", () => {
  it("are deterministic per (seed, column, row) and differ across them", () => {
    const a = cellRandom(7, "id", 1)()
    assert.strictEqual(cellRandom(7, "id", 1)(), a)
    assert.notStrictEqual(cellRandom(8, "id", 1)(), a)
    assert.notStrictEqual(cellRandom(7, "id2", 1)(), a)
    assert.notStrictEqual(cellRandom(7, "id", 2)(), a)
  })
  it("draw UUIDs that look like v4 and do not collide over 200k rows", () => {
    const seen = new Set<string>()
    for (let row = 0; row < 200_000; row++) seen.add(sampleUuid(cellRandom(0, "id", row)))
    assert.strictEqual(seen.size, 200_000)
    assert.match(
      sampleUuid(cellRandom(0, "id", 0)),
      /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/
    )
  })
  it("follow category weights", () => {
    const counts = { a: 0, b: 0 }
    for (let row = 0; row < 20_000; row++) {
      counts[sampleCategory(["a", "b"], [3, 1], cellRandom(1, "c", row)) as "a" | "b"]++
    }
    assert.closeTo(counts.a / 20_000, 0.75, 0.02)
    for (let row = 0; row < 100; row++) {
      assert.strictEqual(sampleCategory(["x", "y"], [0, 1], cellRandom(1, "c", row)), "y")
    }
  })
  it("keep uniform values in range, integers inclusive", () => {
    const seen = new Set<number>()
    for (let row = 0; row < 2_000; row++) {
      const value = sampleUniform(1, 3, true, cellRandom(2, "u", row))
      assert.isTrue(Number.isInteger(value) && value >= 1 && value <= 3)
      seen.add(value)
      const real = sampleUniform(-1, 1, false, cellRandom(2, "r", row))
      assert.isTrue(real >= -1 && real < 1)
    }
    assert.deepStrictEqual([...seen].sort(), [1, 2, 3])
  })
})
