import { Effect, Schema } from "effect"
import { MockOptions } from "../mock/MockOptions.js"

// The config file's shape (DESIGN §6). Other tools read these names: keep them exactly.

const PositiveInt = Schema.Int.check(Schema.isGreaterThan(0))
const NonNegativeNumber = Schema.Finite.check(Schema.isGreaterThanOrEqualTo(0))
const PositiveNumber = Schema.Finite.check(Schema.isGreaterThan(0))
const Name = Schema.NonEmptyString

const withDefault = <S extends Schema.Top>(schema: S, value: S["Encoded"]) =>
  schema.pipe(Schema.withDecodingDefault(Effect.succeed(value)))

/** The `mock:` block is the embedded mock provider's own options schema (one definition, one set of defaults). */
export const MockSettings = MockOptions
export type MockSettings = MockOptions

const providerCommon = {
  name: Name,
  /** Per attempt, any provider type: a hung request becomes a provider timeout. */
  timeoutSeconds: withDefault(PositiveNumber, 120)
}

export const MockProviderConfig = Schema.Struct({
  ...providerCommon,
  type: Schema.Literal("mock"),
  mock: withDefault(MockSettings, {})
})

export const OpenAiCompatibleProviderConfig = Schema.Struct({
  ...providerCommon,
  type: Schema.Literal("openai-compatible"),
  baseUrl: Schema.String.check(Schema.isPattern(/^https?:\/\/\S+$/, { message: "Expected an http(s) URL" })),
  /** The name of the environment variable that holds the key; the key itself is never in the config. */
  apiKeyEnv: Schema.optional(Name)
})

export const ProviderConfig = Schema.Union([MockProviderConfig, OpenAiCompatibleProviderConfig])
export type ProviderConfig = typeof ProviderConfig.Type

export const ModelConfig = Schema.Struct({
  alias: Name,
  provider: Name,
  model: Name,
  maxParallelRequests: withDefault(PositiveInt, 4),
  temperature: Schema.optional(Schema.Finite.check(Schema.isBetween({ minimum: 0, maximum: 2 }))),
  maxTokens: Schema.optional(PositiveInt)
})
export type ModelConfig = typeof ModelConfig.Type

const column = <Type extends string, Fields extends Schema.Struct.Fields>(type: Type, fields: Fields) =>
  Schema.Struct({ name: Name, type: Schema.Literal(type), ...fields })

export const CategoryColumn = column("category", {
  values: Schema.NonEmptyArray(Schema.Union([Schema.String, Schema.Finite])),
  weights: Schema.optional(Schema.NonEmptyArray(NonNegativeNumber))
}).check(Schema.makeFilter((c) =>
  c.weights === undefined || c.weights.length === c.values.length ||
  { path: ["weights"], issue: `Expected ${c.values.length} weights, one per value` }
))

export const UniformColumn = column("uniform", {
  min: Schema.Finite,
  max: Schema.Finite,
  integer: withDefault(Schema.Boolean, false)
}).check(Schema.makeFilter((c) => c.min <= c.max || { path: ["max"], issue: "Expected max >= min" }))

export const UuidColumn = column("uuid", {})

export const TemplateColumn = column("template", { template: Schema.String })

const llmFields = {
  model: Name,
  prompt: Schema.NonEmptyString,
  system: Schema.optional(Schema.String)
}

export const LlmTextColumn = column("llm-text", llmFields)

export const LlmStructuredColumn = column("llm-structured", {
  ...llmFields,
  /** A JSON schema the output must validate against; invalid output is a retryable generation failure. */
  schema: Schema.Record(Schema.String, Schema.Unknown)
})

export const Rubric = Schema.Struct({
  name: Name,
  description: Schema.NonEmptyString,
  minScore: withDefault(Schema.Int, 1),
  maxScore: withDefault(Schema.Int, 5)
}).check(
  Schema.makeFilter((r) => r.minScore < r.maxScore || { path: ["maxScore"], issue: "Expected maxScore > minScore" })
)

export const LlmJudgeColumn = column("llm-judge", {
  ...llmFields,
  rubrics: Schema.NonEmptyArray(Rubric)
})

export const ColumnConfig = Schema.Union([
  CategoryColumn,
  UniformColumn,
  UuidColumn,
  TemplateColumn,
  LlmTextColumn,
  LlmStructuredColumn,
  LlmJudgeColumn
])
export type ColumnConfig = typeof ColumnConfig.Type
export type LlmColumnConfig = Extract<ColumnConfig, { readonly model: string }>

export const RequestAdmissionSettings = Schema.Struct({
  queueWaitTimeoutSeconds: withDefault(Schema.NullOr(NonNegativeNumber), null),
  cooldownSeconds: withDefault(PositiveNumber, 2),
  decreaseFactor: withDefault(
    Schema.Finite.check(Schema.isGreaterThan(0), Schema.isLessThan(1)),
    0.75
  ),
  successesUntilIncrease: withDefault(PositiveInt, 25),
  startupRampSeconds: withDefault(NonNegativeNumber, 0),
  slowStart: withDefault(Schema.Boolean, true),
  slowStartProbeSeconds: withDefault(Schema.NullOr(NonNegativeNumber), 0.01)
})
export type RequestAdmissionSettings = typeof RequestAdmissionSettings.Type

/**
 * Upper bounds that keep an absurd config from exhausting memory or the file system, checked before a run starts:
 * rows per dataset, rows per row group, row-group files per dataset, and rows held in memory at once
 * (`bufferSize × maxConcurrentRowGroups`).
 */
export const runLimits = {
  rows: 1_000_000_000,
  bufferSize: 100_000,
  rowGroups: 1_000_000,
  rowsInMemory: 1_000_000
} as const

const count = (n: number): string => n.toLocaleString("en-US")

export const RunSettings = Schema.Struct({
  rows: withDefault(
    PositiveInt.check(Schema.isLessThanOrEqualTo(runLimits.rows, {
      message: `Expected at most ${count(runLimits.rows)} rows; split a larger job into several datasets`
    })),
    128
  ),
  bufferSize: withDefault(
    PositiveInt.check(Schema.isLessThanOrEqualTo(runLimits.bufferSize, {
      message: `Expected at most ${count(runLimits.bufferSize)} rows per row group`
    })),
    64
  ),
  maxConcurrentRowGroups: withDefault(PositiveInt, 3),
  maxInFlightTasks: withDefault(PositiveInt, 1024),
  /** Seeds the samplers (category, uniform, uuid): the same seed gives the same rows. */
  seed: withDefault(Schema.Int, 0),
  requestAdmission: withDefault(RequestAdmissionSettings, {})
}).check(
  Schema.makeFilter((run) => {
    const groups = Math.ceil(run.rows / run.bufferSize)
    return groups <= runLimits.rowGroups || {
      path: ["bufferSize"],
      issue: `${count(run.rows)} rows in groups of ${count(run.bufferSize)} would write ${count(groups)} ` +
        `row-group files, more than ${count(runLimits.rowGroups)}; use a bufferSize of at least ${
          count(Math.ceil(run.rows / runLimits.rowGroups))
        }`
    }
  }),
  Schema.makeFilter((run) =>
    run.bufferSize * run.maxConcurrentRowGroups <= runLimits.rowsInMemory || {
      path: ["maxConcurrentRowGroups"],
      issue: `${count(run.maxConcurrentRowGroups)} row groups of ${count(run.bufferSize)} rows would hold ` +
        `${count(run.bufferSize * run.maxConcurrentRowGroups)} rows in memory, more than ` +
        `${count(runLimits.rowsInMemory)}; lower bufferSize or maxConcurrentRowGroups`
    }
  )
)
export type RunSettings = typeof RunSettings.Type

export const SluiceConfig = Schema.Struct({
  providers: Schema.Array(ProviderConfig).check(Schema.isMinLength(1)),
  models: withDefault(Schema.Array(ModelConfig), []),
  columns: Schema.Array(ColumnConfig).check(Schema.isMinLength(1)),
  run: withDefault(RunSettings, {})
})
export type SluiceConfig = typeof SluiceConfig.Type
