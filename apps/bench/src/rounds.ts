/**
 * Close comparisons (the median and IQR of at least 5 runs after a warm-up) run several rounds and report
 * the median one. One process runs every variant, so the first run of each pays V8's warm-up (cold code, JIT)
 * and whichever variant runs first would pay the most: full-size warm-up runs of each variant go first,
 * untimed (`warmUpRuns`). (Effect's code paths keep getting faster for a few thousand calls; a 128-call warm-up
 * left Sluice's first measured round ~0.5 % slower than its later ones.)
 */
import { round3 } from "./BenchResult.js"

/**
 * Untimed full-size runs of pressure-725's work before the measured rounds, for every variant. Code that runs once
 * per row group (1,024 cells offered when the sampler completes) only becomes hot in a process's third run: after a
 * single warm-up run, V8 compiled it at the start of the second measured round, on the one CPU the client has, and
 * that round's first request left 5–10 ms late instead of ≈ 1 ms.
 */
export const warmUpRuns = 2

/** The measured rounds `--rounds` defaults to: a median of at least 5. */
export const defaultRounds = 5

/** The round with the median ratio (the lower middle for an even count), and every round's ratio in run order. */
export const medianRound = <A>(
  rounds: readonly [A, ...Array<A>],
  ratioOf: (round: A) => number
): { readonly median: A; readonly ratios: ReadonlyArray<number> } => {
  const sorted = [...rounds].sort((a, b) => ratioOf(a) - ratioOf(b))
  return { median: sorted[Math.floor((sorted.length - 1) / 2)]!, ratios: rounds.map(ratioOf) }
}

/** `extra` fields every multi-round result carries: the rounds in run order, their range and interquartile range. */
export const roundsExtra = (ratios: ReadonlyArray<number>): Record<string, unknown> =>
  ratios.length <= 1 ? {} : {
    rounds: ratios.length,
    roundRatios: ratios,
    ratioSpread: round3(Math.max(...ratios) - Math.min(...ratios)),
    ratioIqr: round3(quantile(ratios, 0.75) - quantile(ratios, 0.25))
  }

/** The q-quantile, interpolating linearly between the closest ranks (numpy's default). */
export const quantile = (values: ReadonlyArray<number>, q: number): number => {
  const sorted = [...values].sort((a, b) => a - b)
  const at = (sorted.length - 1) * q
  const below = Math.floor(at)
  const above = Math.min(sorted.length - 1, below + 1)
  return sorted[below]! + (sorted[above]! - sorted[below]!) * (at - below)
}
