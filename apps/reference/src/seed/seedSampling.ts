import type { SeedSampling } from "../config/seedSchema.js"
import { cellRandom } from "../columns/cellRandom.js"

// Which seed row a dataset row gets. A pure function of (sampling, seed, table size, dataset row), like the
// samplers: a resumed run, `--retry-dropped` and any row-group order give every row the same seed row.

/** The permutation of `size` rows for one pass over the table (Fisher–Yates on a seeded stream). */
const permutation = (seed: number, pass: number, size: number): Uint32Array => {
  const random = cellRandom(seed, "\u0000seed-shuffle", pass)
  const order = new Uint32Array(size)
  for (let i = 0; i < size; i++) order[i] = i
  for (let i = size - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1))
    const swap = order[i]!
    order[i] = order[j]!
    order[j] = swap
  }
  return order
}

/** Maps a dataset row to a seed-table row. The last pass's permutation is kept: rows arrive in row-group order. */
export const seedRowPicker = (sampling: SeedSampling, seed: number, size: number): (row: number) => number => {
  switch (sampling) {
    case "ordered":
      return (row) => row % size
    case "replacement":
      return (row) => Math.floor(cellRandom(seed, "\u0000seed-replacement", row)() * size)
    case "shuffle": {
      let cachedPass = -1
      let cached: Uint32Array = new Uint32Array(0)
      return (row) => {
        const pass = Math.floor(row / size)
        if (pass !== cachedPass) {
          cached = permutation(seed, pass, size)
          cachedPass = pass
        }
        return cached[row % size]!
      }
    }
  }
}
