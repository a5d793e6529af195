import { cellRandom } from "./cellRandom.js"

/** A weighted (or uniform) pick from a category's values. */
export const sampleCategory = (
  values: ReadonlyArray<string | number>,
  weights: ReadonlyArray<number> | undefined,
  random: () => number
): string | number => {
  if (weights === undefined) return values[Math.floor(random() * values.length)] as string | number
  const total = weights.reduce((sum, weight) => sum + weight, 0)
  let point = random() * total
  for (let i = 0; i < values.length; i++) {
    point -= weights[i] ?? 0
    if (point < 0) return values[i] as string | number
  }
  return values[values.length - 1] as string | number
}

/** Uniform in [min, max]; integers include both ends. */
export const sampleUniform = (min: number, max: number, integer: boolean, random: () => number): number =>
  integer ? Math.floor(min + random() * (Math.floor(max) - Math.ceil(min) + 1)) : min + random() * (max - min)

const hex = (random: () => number, digits: number): string => {
  let text = ""
  for (let i = 0; i < digits; i++) text += Math.floor(random() * 16).toString(16)
  return text
}

/** An RFC 4122 version-4-shaped UUID drawn from the cell's random source (so it is stable across a resume). */
export const sampleUuid = (random: () => number): string => {
  const variant = (8 + Math.floor(random() * 4)).toString(16)
  return `${hex(random, 8)}-${hex(random, 4)}-4${hex(random, 3)}-${variant}${hex(random, 3)}-${hex(random, 12)}`
}

export { cellRandom }
