import type { TimeUnit } from "../config/samplerSchema.js"

// Draws from the numeric distributions, each from a cell's seeded stream `random` (floats in [0, 1)).

/** A standard normal draw (Box–Muller). */
export const standardNormal = (random: () => number): number => {
  // 1 - u is in (0, 1]: the logarithm is finite.
  const u = 1 - random()
  const v = random()
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v)
}

const round = (value: number, places: number | undefined): number => {
  if (places === undefined) return value
  const scale = 10 ** places
  return Math.round(value * scale) / scale
}

export const sampleGaussian = (
  mean: number,
  stddev: number,
  decimalPlaces: number | undefined,
  random: () => number
): number => round(mean + stddev * standardNormal(random), decimalPlaces)

export const sampleBernoulli = (p: number, random: () => number): number => (random() < p ? 1 : 0)

/** `n` Bernoulli trials; above 1,000 trials, the normal approximation (clamped to [0, n]). */
export const sampleBinomial = (n: number, p: number, random: () => number): number => {
  if (n <= 1000) {
    let successes = 0
    for (let i = 0; i < n; i++) if (random() < p) successes++
    return successes
  }
  const drawn = Math.round(n * p + Math.sqrt(n * p * (1 - p)) * standardNormal(random))
  return Math.min(n, Math.max(0, drawn))
}

/** Counts exponential inter-arrival times within `mean`; above 1,000, the normal approximation. */
export const samplePoisson = (mean: number, random: () => number): number => {
  if (mean > 1000) return Math.max(0, Math.round(mean + Math.sqrt(mean) * standardNormal(random)))
  let count = 0
  let elapsed = -Math.log(1 - random())
  while (elapsed < mean) {
    count++
    elapsed -= Math.log(1 - random())
  }
  return count
}

const unitMillis: Record<TimeUnit, number> = { D: 86_400_000, h: 3_600_000, m: 60_000, s: 1000 }

/** ISO 8601 text of a UTC instant at a unit's resolution: a date for `D`, else a date-time without milliseconds. */
export const formatInstant = (millis: number, unit: TimeUnit): string => {
  const iso = new Date(millis).toISOString()
  return unit === "D" ? iso.slice(0, 10) : `${iso.slice(0, 19)}Z`
}

/** A uniform instant in [start, end], truncated to the unit (both ends' units included). */
export const sampleDatetime = (start: string, end: string, unit: TimeUnit, random: () => number): string => {
  const step = unitMillis[unit]
  const first = Math.ceil(Date.parse(start) / step)
  const last = Math.floor(Date.parse(end) / step)
  const slot = first + Math.floor(random() * (Math.max(last, first) - first + 1))
  return formatInstant(slot * step, unit)
}

/**
 * The reference instant plus a whole number of units drawn from [min, max]; undefined when the reference is not a
 * date. A date-only reference stays a date when the unit is days.
 */
export const sampleTimedelta = (
  reference: unknown,
  min: number,
  max: number,
  unit: TimeUnit,
  random: () => number
): string | undefined => {
  const text = typeof reference === "string" ? reference : reference instanceof Date ? reference.toISOString() : ""
  const base = Date.parse(text)
  if (Number.isNaN(base)) return undefined
  const units = min + Math.floor(random() * (max - min + 1))
  const dateOnly = /^\d{4}-\d{2}-\d{2}$/.test(text)
  return formatInstant(base + units * unitMillis[unit], dateOnly && unit === "D" ? "D" : "s")
}
