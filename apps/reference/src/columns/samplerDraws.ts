import type { RowValues } from "@sluice/scheduler"
import type { SamplerConditions } from "../config/checkSamplers.js"
import { uniformRange } from "../config/samplerSchema.js"
import type { ColumnConfig } from "../config/schema.js"
import {
  sampleBernoulli,
  sampleBinomial,
  sampleDatetime,
  sampleGaussian,
  samplePoisson,
  sampleTimedelta
} from "./distributions.js"
import { samplePerson } from "./person.js"
import { sampleCategory, sampleUniform, sampleUuid } from "./samplers.js"

/** One cell's draw: from its seeded stream and the row's values so far (a parent, a reference, a condition). */
export type Draw = (random: () => number, row: RowValues) => unknown

/**
 * The draw of a sampler column, or undefined for a column that is not a sampler. A subcategory whose parent value
 * has no list, or a timedelta whose reference is not a date, gives `null`.
 */
export const drawOf = (config: ColumnConfig): Draw | undefined => {
  switch (config.type) {
    case "category":
      return (random) => sampleCategory(config.values, config.weights, random)
    case "subcategory":
      return (random, row) => {
        const values = config.values[String(row[config.category])]
        return values === undefined ? null : sampleCategory(values, undefined, random)
      }
    case "uniform": {
      const { min, max } = uniformRange(config)
      return (random) => sampleUniform(min, max, config.integer, random)
    }
    case "gaussian":
      return (random) => sampleGaussian(config.mean, config.stddev, config.decimalPlaces, random)
    case "bernoulli":
      return (random) => sampleBernoulli(config.p, random)
    case "binomial":
      return (random) => sampleBinomial(config.n, config.p, random)
    case "poisson":
      return (random) => samplePoisson(config.mean, random)
    case "datetime":
      return (random) => sampleDatetime(config.start, config.end, config.unit, random)
    case "timedelta":
      return (random, row) =>
        sampleTimedelta(row[config.reference], config.min, config.max, config.unit, random) ?? null
    case "person":
      return (random) => samplePerson(config, random)
    case "uuid":
      return (random) => sampleUuid(random)
    default:
      return undefined
  }
}

/** With `conditionalParams`: the draw of the case the row's value of `on` picks, else the sampler's own. */
export const conditionalDraw = (base: Draw, conditions: SamplerConditions | undefined): Draw => {
  if (conditions === undefined) return base
  const cases = new Map<string, Draw>()
  for (const [value, config] of conditions.cases) {
    const draw = drawOf(config)
    if (draw !== undefined) cases.set(value, draw)
  }
  return (random, row) => (cases.get(String(row[conditions.on])) ?? base)(random, row)
}
