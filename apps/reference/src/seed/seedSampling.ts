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

/** Maps a dataset row to a seed-table row. */
export const seedRowPicker = (sampling: SeedSampling, seed: number, size: number): (row: number) => number => {
  switch (sampling) {
    case "ordered":
      return (row) => row % size
    case "replacement":
      return (row) => Math.floor(cellRandom(seed, "\u0000seed-replacement", row)() * size)
    case "shuffle": {
      // A few passes are kept: concurrent row groups near a pass boundary ask for two passes in turn.
      const passes = new Map<number, Uint32Array>()
      return (row) => {
        const pass = Math.floor(row / size)
        let order = passes.get(pass)
        if (order === undefined) {
          order = permutation(seed, pass, size)
          if (passes.size >= 4) passes.delete(passes.keys().next().value!)
          passes.set(pass, order)
        }
        return order[row % size]!
      }
    }
  }
}
