import { assert, describe, it } from "@effect/vitest"
import {
  sampleBernoulli,
  sampleBinomial,
  sampleDatetime,
  sampleGaussian,
  samplePoisson,
  sampleTimedelta
} from "../../src/columns/distributions.js"
import { cellRandom } from "../../src/columns/samplers.js"

// Seeded draws, so each statistic is fixed for the seed; the tolerances are several standard errors wide.
const n = 20_000
const draws = (column: string, draw: (random: () => number) => number): ReadonlyArray<number> =>
  Array.from({ length: n }, (_, row) => draw(cellRandom(11, column, row)))
const mean = (xs: ReadonlyArray<number>) => xs.reduce((a, b) => a + b, 0) / xs.length
const variance = (xs: ReadonlyArray<number>) => {
  const m = mean(xs)
  return xs.reduce((a, b) => a + (b - m) ** 2, 0) / (xs.length - 1)
}

describe("distributions", () => {
  it("gaussian: mean and standard deviation; decimalPlaces rounds", () => {
    const xs = draws("g", (r) => sampleGaussian(50, 10, undefined, r))
    assert.closeTo(mean(xs), 50, 0.5)
    assert.closeTo(Math.sqrt(variance(xs)), 10, 0.3)
    for (const x of draws("g2", (r) => sampleGaussian(1, 2, 1, r)).slice(0, 200)) {
      assert.strictEqual(Math.round(x * 10) / 10, x)
    }
  })
  it("bernoulli: 0/1 with probability p; p = 0 and 1 are exact", () => {
    const xs = draws("b", (r) => sampleBernoulli(0.3, r))
    assert.isTrue(xs.every((x) => x === 0 || x === 1))
    assert.closeTo(mean(xs), 0.3, 0.015)
    assert.isTrue(draws("b0", (r) => sampleBernoulli(0, r)).every((x) => x === 0))
    assert.isTrue(draws("b1", (r) => sampleBernoulli(1, r)).every((x) => x === 1))
  })
  it("binomial: mean n·p, variance n·p·(1−p), in [0, n], also in the normal approximation", () => {
    const xs = draws("n", (r) => sampleBinomial(10, 0.3, r))
    assert.isTrue(xs.every((x) => Number.isInteger(x) && x >= 0 && x <= 10))
    assert.closeTo(mean(xs), 3, 0.05)
    assert.closeTo(variance(xs), 2.1, 0.1)
    const large = draws("N", (r) => sampleBinomial(100_000, 0.01, r))
    assert.closeTo(mean(large), 1000, 1)
    assert.closeTo(variance(large), 990, 40)
  })
  it("poisson: mean and variance λ, small and large", () => {
    for (const lambda of [0.5, 4, 200, 5000]) {
      const xs = draws(`p${lambda}`, (r) => samplePoisson(lambda, r))
      assert.isTrue(xs.every((x) => Number.isInteger(x) && x >= 0))
      assert.closeTo(mean(xs) / lambda, 1, 0.03, `mean for λ=${lambda}`)
      assert.closeTo(variance(xs) / lambda, 1, 0.06, `variance for λ=${lambda}`)
    }
  })
  it("datetime: inside [start, end], both ends reachable, at the unit's resolution", () => {
    const days = new Set<string>()
    for (let row = 0; row < 2000; row++) {
      days.add(sampleDatetime("2024-02-27", "2024-03-01", "D", cellRandom(3, "d", row)))
    }
    assert.deepStrictEqual([...days].sort(), ["2024-02-27", "2024-02-28", "2024-02-29", "2024-03-01"])
    for (let row = 0; row < 500; row++) {
      const at = sampleDatetime("2024-01-01T10:00:00Z", "2024-01-01T12:00:00Z", "m", cellRandom(3, "t", row))
      assert.match(at, /^2024-01-01T1[0-2]:\d{2}:00Z$/)
      assert.isTrue(at <= "2024-01-01T12:00:00Z")
    }
  })
  it("timedelta: the reference plus [min, max] units; a date stays a date; not a date gives undefined", () => {
    const seen = new Set<string | undefined>()
    for (let row = 0; row < 500; row++) seen.add(sampleTimedelta("2024-12-30", 1, 3, "D", cellRandom(4, "x", row)))
    assert.deepStrictEqual([...seen].sort(), ["2024-12-31", "2025-01-01", "2025-01-02"])
    assert.strictEqual(
      sampleTimedelta("2024-01-01T00:00:00Z", 2, 2, "h", cellRandom(4, "x", 0)),
      "2024-01-01T02:00:00Z"
    )
    assert.isUndefined(sampleTimedelta("soon", 1, 2, "D", cellRandom(4, "x", 0)))
  })
})
