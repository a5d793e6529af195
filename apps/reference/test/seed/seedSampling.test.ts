import { assert, describe, it } from "@effect/vitest"
import fc from "fast-check"
import { seedRowPicker } from "../../src/seed/seedSampling.js"

describe("seed sampling", () => {
  it("ordered wraps around the table", () => {
    const pick = seedRowPicker("ordered", 0, 3)
    assert.deepStrictEqual([0, 1, 2, 3, 4, 5, 6].map(pick), [0, 1, 2, 0, 1, 2, 0])
  })

  it("shuffle: each pass is a permutation, the same for any order of rows (property)", () => {
    const seed = Number(process.env["FC_SEED"] ?? Date.now() % 1_000_000)
    console.log(`fast-check seed ${seed} (replay: FC_SEED=${seed})`)
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 50 }), fc.integer({ min: 0, max: 1000 }), (size, runSeed) => {
        const inOrder = seedRowPicker("shuffle", runSeed, size)
        const rows = Array.from({ length: size * 3 }, (_, row) => inOrder(row))
        for (let pass = 0; pass < 3; pass++) {
          const picked = rows.slice(pass * size, (pass + 1) * size).sort((a, b) => a - b)
          assert.deepStrictEqual(picked, Array.from({ length: size }, (_, i) => i))
        }
        // Backwards, as a resumed run or a later row group might ask: the same rows.
        const backwards = seedRowPicker("shuffle", runSeed, size)
        for (let row = size * 3 - 1; row >= 0; row--) assert.strictEqual(backwards(row), rows[row])
      }),
      { seed, numRuns: 200 }
    )
  })

  it("replacement: independent seeded draws in range, depending on the seed", () => {
    const a = Array.from({ length: 2000 }, (_, row) => seedRowPicker("replacement", 1, 4)(row))
    assert.isTrue(a.every((i) => Number.isInteger(i) && i >= 0 && i < 4))
    assert.deepStrictEqual(new Set(a).size, 4)
    const b = Array.from({ length: 2000 }, (_, row) => seedRowPicker("replacement", 2, 4)(row))
    assert.notDeepEqual(a, b)
    // With replacement, a pass of 4 rows usually repeats a seed row (unlike shuffle).
    const repeats = Array.from({ length: 500 }, (_, p) => new Set(a.slice(p * 4, p * 4 + 4)).size < 4)
    assert.isAbove(repeats.filter(Boolean).length, 300)
  })
})
