import { RequestAdmissionConfig } from "@sluice/request-admission"
import { Effect, Schema, Struct } from "effect"
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

/** The user-facing subset of request admission's own config: its checks and defaults, not restated here. */
export const RequestAdmissionSettings = RequestAdmissionConfig.mapFields(Struct.pick([
  "queueWaitTimeoutSeconds",
  "cooldownSeconds",
  "decreaseFactor",
  "successesUntilIncrease",
  "startupRampSeconds",
  "slowStart",
  "slowStartProbeSeconds"
]))
export type RequestAdmissionSettings = typeof RequestAdmissionSettings.Type

export const RunSettings = Schema.Struct({
  rows: withDefault(PositiveInt, 128),
  bufferSize: withDefault(PositiveInt, 64),
  maxConcurrentRowGroups: withDefault(PositiveInt, 3),
  maxInFlightTasks: withDefault(PositiveInt, 1024),
  /** Seeds the samplers (category, uniform, uuid): the same seed gives the same rows. */
  seed: withDefault(Schema.Int, 0),
  requestAdmission: withDefault(RequestAdmissionSettings, {})
})
export type RunSettings = typeof RunSettings.Type

export const SluiceConfig = Schema.Struct({
  providers: Schema.Array(ProviderConfig).check(Schema.isMinLength(1)),
  models: withDefault(Schema.Array(ModelConfig), []),
  columns: Schema.Array(ColumnConfig).check(Schema.isMinLength(1)),
  run: withDefault(RunSettings, {})
})
export type SluiceConfig = typeof SluiceConfig.Type
