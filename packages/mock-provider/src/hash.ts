/**
 * A 53-bit string hash (cyrb53). Response content must be a pure function of (seed, model, prompt) — independent
 * of request order — so content generators are seeded from this hash, not from the server's shared draw stream.
 */
export const hash53 = (text: string, seed = 0): number => {
  let h1 = 0xdeadbeef ^ seed
  let h2 = 0x41c6ce57 ^ seed
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i)
    h1 = Math.imul(h1 ^ ch, 2654435761)
    h2 = Math.imul(h2 ^ ch, 1597334677)
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507)
  h1 ^= Math.imul(h2 ^ (h2 >>> 13), 3266489909)
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507)
  h2 ^= Math.imul(h1 ^ (h1 >>> 13), 3266489909)
  return 4294967296 * (2097151 & h2) + (h1 >>> 0)
}

/** A source of draws in [0, 1); Effect's `Random` service satisfies it. */
export interface Draws {
  nextDoubleUnsafe(): number
}

/** An integer in [min, max] (inclusive). */
export const drawInt = (draws: Draws, min: number, max: number): number =>
  max <= min ? min : Math.min(max, min + Math.floor(draws.nextDoubleUnsafe() * (max - min + 1)))

/** One element of a non-empty list. */
export const drawOne = <A>(draws: Draws, items: ReadonlyArray<A>): A => items[drawInt(draws, 0, items.length - 1)]!
