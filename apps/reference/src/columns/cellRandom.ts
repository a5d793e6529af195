import { createHash } from "node:crypto"

// Samplers draw from a generator keyed by (run seed, column, row), not from a shared stream: a cell's value does
// not depend on the order in which cells run, so a resumed run regenerates exactly the rows it did not write.
// The key is hashed to 128 bits of PRNG state, so distinct cells (and their UUIDs) do not collide in practice.

/** sfc32: a small, fast PRNG with 128 bits of state, returning floats in [0, 1). */
const sfc32 = (a0: number, b0: number, c0: number, d0: number) => {
  let a = a0 >>> 0
  let b = b0 >>> 0
  let c = c0 >>> 0
  let d = d0 >>> 0
  return (): number => {
    const t = (((a + b) >>> 0) + d) >>> 0
    d = (d + 1) >>> 0
    a = b ^ (b >>> 9)
    b = (c + (c << 3)) >>> 0
    c = ((c << 21) | (c >>> 11)) >>> 0
    c = (c + t) >>> 0
    return t / 4294967296
  }
}

/** The random source of one cell: deterministic in (seed, column, row index). */
export const cellRandom = (seed: number, column: string, rowIndex: number): () => number => {
  const digest = createHash("sha256").update(`${seed}\u0000${column}\u0000${rowIndex}`).digest()
  return sfc32(digest.readUInt32LE(0), digest.readUInt32LE(4), digest.readUInt32LE(8), digest.readUInt32LE(12))
}
