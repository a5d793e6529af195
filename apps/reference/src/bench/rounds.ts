/**
 * Close comparisons (peers.md §4c: "median and IQR of ≥ 5 runs after warm-up") run several rounds and report
 * the median one. One process runs every variant, so the first run of each pays V8's warm-up (cold code, JIT)
 * and whichever variant runs first would pay the most: a full-size warm-up run of each variant goes first,
 * untimed. (Effect's code paths keep getting faster for a few thousand calls; a 128-call warm-up left Sluice's
 * first measured round ~0.5 % slower than its later ones.)
 */

/** The round with the median ratio (the lower middle for an even count), and every round's ratio in run order. */
export const medianRound = <A>(
  rounds: readonly [A, ...Array<A>],
  ratioOf: (round: A) => number
): { readonly median: A; readonly ratios: ReadonlyArray<number> } => {
  const sorted = [...rounds].sort((a, b) => ratioOf(a) - ratioOf(b))
  return { median: sorted[Math.floor((sorted.length - 1) / 2)]!, ratios: rounds.map(ratioOf) }
}

/** `extra` fields every multi-round result carries. */
export const roundsExtra = (ratios: ReadonlyArray<number>): Record<string, unknown> =>
  ratios.length <= 1 ? {} : { rounds: ratios.length, roundRatios: ratios, ratioSpread: spread(ratios) }

const spread = (ratios: ReadonlyArray<number>): number =>
  Math.round((Math.max(...ratios) - Math.min(...ratios)) * 1000) / 1000
