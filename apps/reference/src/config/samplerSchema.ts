import { Schema } from "effect"
import { column, documented, Name, NonNegativeNumber, optional, PositiveNumber, withDefault } from "./schemaDocs.js"

// The sampler columns: values drawn per cell from a seeded stream, without a model. Parameter names follow NeMo
// Data Designer where it has the sampler (camelCased: `decimal_places` → `decimalPlaces`); `uniform` takes both
// Sluice's `min`/`max` and Data Designer's `low`/`high`.

const Probability = Schema.Finite.check(Schema.isBetween({ minimum: 0, maximum: 1 }))
const NonNegativeInt = Schema.Int.check(Schema.isGreaterThanOrEqualTo(0))
const CategoryValue = Schema.Union([Schema.String, Schema.Finite])

/** `conditionalParams`: parameters that replace the sampler's own when another column has a given value. */
export const ConditionalParams = Schema.Struct({
  on: documented(Name, {
    description: "The column whose value picks the parameters (the sampler then runs after it).",
    examples: ["product"]
  }),
  values: documented(Schema.Record(Schema.String, Schema.Record(Schema.String, Schema.Unknown)), {
    description: "For a value of `on` (as text), the parameters that replace the sampler's own for that row; " +
      "rows with any other value use the sampler's own.",
    examples: [{ tent: { min: 100, max: 500 } }]
  })
})
export type ConditionalParams = typeof ConditionalParams.Type

const conditional = {
  conditionalParams: optional(ConditionalParams, {
    description: "Parameters that depend on another column's value (Data Designer's `conditional_params`)."
  })
}

const sampler = <Type extends string, Fields extends Schema.Struct.Fields>(
  type: Type,
  description: string,
  fields: Fields
) => column(type, description, { ...fields, ...conditional })

export const CategoryColumn = sampler("category", "A value drawn from a list.", {
  values: documented(Schema.NonEmptyArray(CategoryValue), {
    description: "The values to draw from.",
    examples: [["shoes", "tents"]]
  }),
  weights: optional(Schema.NonEmptyArray(NonNegativeNumber), {
    description: "Relative weights, one per value (default: all equal).",
    examples: [[2, 1]]
  })
}).check(Schema.makeFilter((c) =>
  c.weights === undefined || c.weights.length === c.values.length ||
  { path: ["weights"], issue: `Expected ${c.values.length} weights, one per value` }
))

export const SubcategoryColumn = sampler(
  "subcategory",
  "A value drawn from the list of the row's value of a parent `category` column.",
  {
    category: documented(Name, { description: "The parent column.", examples: ["product"] }),
    values: documented(Schema.Record(Schema.String, Schema.NonEmptyArray(CategoryValue)), {
      description: "For each value of the parent column (as text), the values to draw from.",
      examples: [{ tent: ["two-person", "family"], headlamp: ["rechargeable", "AAA"] }]
    })
  }
)

const uniformEnds = (
  c: {
    readonly min?: number | undefined
    readonly max?: number | undefined
    readonly low?: number | undefined
    readonly high?: number | undefined
  }
) =>
  c.min !== undefined || c.max !== undefined
    ? { lower: c.min, upper: c.max, names: ["min", "max"] as const }
    : { lower: c.low, upper: c.high, names: ["low", "high"] as const }

export const UniformColumn = sampler(
  "uniform",
  "A number drawn uniformly from [min, max] (Data Designer's `low`/`high` are accepted instead of `min`/`max`).",
  {
    min: optional(Schema.Finite, { description: "Smallest value (or `low`).", examples: [1] }),
    max: optional(Schema.Finite, { description: "Largest value (or `high`).", examples: [5] }),
    low: optional(Schema.Finite, { description: "Data Designer's name for `min`." }),
    high: optional(Schema.Finite, { description: "Data Designer's name for `max`." }),
    integer: withDefault(Schema.Boolean, false, { description: "Draw whole numbers (both ends included)." })
  }
).check(
  Schema.makeFilter((c) =>
    (c.min === undefined && c.max === undefined) || (c.low === undefined && c.high === undefined) ||
    { path: ["low"], issue: "Expected either min/max or low/high, not both" }
  ),
  Schema.makeFilter((c) => {
    const { lower, upper, names } = uniformEnds(c)
    if (lower === undefined) return { path: [names[0]], issue: "Expected a number (min, or low)" }
    if (upper === undefined) return { path: [names[1]], issue: "Expected a number (max, or high)" }
    return lower <= upper || { path: [names[1]], issue: `Expected ${names[1]} >= ${names[0]}` }
  })
)

/** The ends of a decoded uniform column, whichever names it used. */
export const uniformRange = (c: typeof UniformColumn.Type): { readonly min: number; readonly max: number } => {
  const { lower, upper } = uniformEnds(c)
  return { min: lower ?? 0, max: upper ?? 0 }
}

export const UuidColumn = column("uuid", "A random (seeded) UUID.", {})

const decimalPlaces = {
  decimalPlaces: optional(NonNegativeInt.check(Schema.isLessThanOrEqualTo(15)), {
    description: "Round to this many decimal places (default: not rounded).",
    examples: [2]
  })
}

export const GaussianColumn = sampler("gaussian", "A number drawn from a normal distribution.", {
  mean: documented(Schema.Finite, { description: "The mean.", examples: [50] }),
  stddev: documented(NonNegativeNumber, { description: "The standard deviation.", examples: [10] }),
  ...decimalPlaces
})

export const BernoulliColumn = sampler("bernoulli", "1 with probability `p`, else 0.", {
  p: documented(Probability, { description: "The probability of 1.", examples: [0.3] })
})

export const BinomialColumn = sampler("binomial", "The number of successes in `n` trials of probability `p`.", {
  n: documented(NonNegativeInt.check(Schema.isLessThanOrEqualTo(1_000_000)), {
    description: "The number of trials (at most 1,000,000).",
    examples: [10]
  }),
  p: documented(Probability, { description: "The probability of success of one trial.", examples: [0.5] })
})

export const PoissonColumn = sampler("poisson", "A count drawn from a Poisson distribution.", {
  mean: documented(PositiveNumber, {
    description: "The mean (λ); above 1,000 the normal approximation is drawn.",
    examples: [4]
  })
})

export const TimeUnit = Schema.Literals(["D", "h", "m", "s"])
export type TimeUnit = typeof TimeUnit.Type

const IsoDate = Schema.String.check(
  Schema.isPattern(/^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})?)?$/, {
    message: "Expected an ISO 8601 date (2024-01-31) or date-time (2024-01-31T12:00:00Z)"
  })
)

export const DatetimeColumn = sampler(
  "datetime",
  "A date or date-time drawn uniformly from [start, end], as ISO 8601 text.",
  {
    start: documented(IsoDate, { description: "The earliest value (ISO 8601).", examples: ["2024-01-01"] }),
    end: documented(IsoDate, { description: "The latest value (ISO 8601).", examples: ["2024-12-31"] }),
    unit: withDefault(TimeUnit, "D", {
      description: "The resolution: `D` writes a date (`2024-03-05`), `h`/`m`/`s` a UTC date-time truncated to it."
    })
  }
).check(
  Schema.makeFilter((c) =>
    Number.isNaN(Date.parse(c.start)) ?
      { path: ["start"], issue: "Expected a valid date" }
      : Number.isNaN(Date.parse(c.end)) ?
      { path: ["end"], issue: "Expected a valid date" }
      : Date.parse(c.start) <= Date.parse(c.end) || { path: ["end"], issue: "Expected end >= start" }
  )
)

export const TimedeltaColumn = sampler(
  "timedelta",
  "A date or date-time: the `reference` column's value plus a whole number of units drawn from [min, max] " +
    "(Data Designer's `dt_min`/`dt_max`/`reference_column_name`).",
  {
    reference: documented(Name, {
      description: "The column holding the date or date-time to add to (e.g. a `datetime` column).",
      examples: ["ordered_at"]
    }),
    min: documented(Schema.Int, { description: "The fewest units to add (may be negative).", examples: [1] }),
    max: documented(Schema.Int, { description: "The most units to add.", examples: [14] }),
    unit: withDefault(TimeUnit, "D", { description: "The unit of `min` and `max`: D, h, m or s." })
  }
).check(Schema.makeFilter((c) => c.min <= c.max || { path: ["max"], issue: "Expected max >= min" }))

export const PersonSex = Schema.Literals(["female", "male"])

export const PersonColumn = sampler(
  "person",
  "A synthetic person (Faker), as an object: `first_name`, `last_name`, `sex`, `age`, `birth_date`, " +
    "`email_address`, `phone_number`, `city`, `region`, `zipcode`, `country`, `occupation`; use a field in a " +
    "template as `{{ person.first_name }}`.",
  {
    locale: withDefault(Schema.NonEmptyString, "en_US", {
      description: "The Faker locale (`en_US`, `en_GB`, `de`, `fr`, `ja`, …).",
      examples: ["de"]
    }),
    sex: optional(PersonSex, { description: "Only this sex (default: either)." }),
    minAge: withDefault(NonNegativeInt, 18, { description: "The youngest age (Data Designer's `age_range[0]`)." }),
    maxAge: withDefault(NonNegativeInt, 85, { description: "The oldest age, inclusive." })
  }
).check(Schema.makeFilter((c) => c.minAge <= c.maxAge || { path: ["maxAge"], issue: "Expected maxAge >= minAge" }))

/** Every sampler column, in the order the reference lists them. */
export const samplerColumns = [
  CategoryColumn,
  SubcategoryColumn,
  UniformColumn,
  GaussianColumn,
  BernoulliColumn,
  BinomialColumn,
  PoissonColumn,
  DatetimeColumn,
  TimedeltaColumn,
  PersonColumn,
  UuidColumn
] as const
