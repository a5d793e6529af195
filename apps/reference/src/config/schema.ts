import { RequestAdmissionConfig } from "@sluice/request-admission"
import { Effect, Schema, Struct } from "effect"
import { MockOptions } from "@sluice/mock-provider"
import { processorsField } from "./conditionalSchema.js"
import { SeedDataset } from "./seedSchema.js"

// The config file's shape. Other tools read these names: keep them exactly. Every field carries a description
// (and its default): `sluice schema` and the README's config reference are generated from them.

import {
  annotationsOf,
  column,
  documented,
  Name,
  NonNegativeNumber,
  optional,
  PositiveInt,
  PositiveNumber,
  withDefault
} from "./schemaDocs.js"
import { outputRunFields } from "./outputSchema.js"
import { samplerColumns } from "./samplerSchema.js"

/** The `mock:` block is the embedded mock provider's own options schema (one definition, one set of defaults). */
export const MockSettings = MockOptions
export type MockSettings = MockOptions

/**
 * When a provider is declared down (its calls then fail at once, without network traffic): after
 * `consecutiveFailures` connection failures (refused, reset, DNS, TLS, connect timeout) or timeouts without an
 * answer in a row, with no answer in between — at once for a provider that has not answered yet in this run and
 * only refused; otherwise only once the failures have also lasted `graceSeconds`, so a blip or a stall does not end
 * a long run. A 401 marks it down at once.
 */
export const UnreachableAfter = Schema.Struct({
  consecutiveFailures: withDefault(PositiveInt, 5, {
    description: "Connection failures or timeouts in a row (no answer in between) after which the provider is down."
  }),
  graceSeconds: withDefault(NonNegativeNumber, 30, {
    description: "How long the failures must also last, if the provider has answered in this run or some timed out."
  }),
  withoutSuccessSeconds: withDefault(Schema.NullOr(PositiveNumber), 300, {
    description: "A provider that answers, but for this long only with errors — 5xx, 429, garbled or empty answers — " +
      "and not once usably (after at least `consecutiveFailures` attempts), is down too; `null`: wait as long as it takes."
  })
})
export type UnreachableAfter = typeof UnreachableAfter.Type

const providerCommon = {
  name: documented(Name, { description: "The provider's name, used by `models[].provider`.", examples: ["openai"] }),
  timeoutSeconds: withDefault(PositiveNumber, 120, {
    description: "Per attempt: a request that takes longer fails as a provider timeout (a model may override it)."
  }),
  maxRetryAfterSeconds: withDefault(PositiveNumber, 120, {
    description: "The longest one `Retry-After` may close the provider for; longer values are capped to this."
  }),
  maxResponseBytes: withDefault(PositiveInt, 16 * 1024 * 1024, {
    description: "Answers with a longer body fail the attempt (`response_too_large`) and are read no further."
  }),
  unreachableAfter: withDefault(UnreachableAfter, {}, {
    description: "When a provider that does not answer, or answers nothing usable, is declared down (its calls then " +
      "fail at once)."
  })
}

export const MockProviderConfig = Schema.Struct({
  ...providerCommon,
  type: documented(Schema.Literal("mock"), { description: "The embedded mock provider (a local HTTP server)." }),
  mock: withDefault(MockSettings, {}, { description: "The mock provider's behaviour: capacity, latency, errors." })
})

export const OpenAiCompatibleProviderConfig = Schema.Struct({
  ...providerCommon,
  type: documented(Schema.Literal("openai-compatible"), {
    description: "Any OpenAI-compatible endpoint: OpenAI, vLLM, Ollama, NIM, llama.cpp, LiteLLM…"
  }),
  baseUrl: documented(
    Schema.String.check(Schema.isPattern(/^https?:\/\/\S+$/, { message: "Expected an http(s) URL" })),
    { description: "The base URL, up to and including `/v1`.", examples: ["https://api.openai.com/v1"] }
  ),
  apiKeyEnv: optional(Name, {
    description: "The environment variable that holds the API key (the key itself is never in the config).",
    examples: ["OPENAI_API_KEY"]
  })
})

export const ProviderConfig = Schema.Union([MockProviderConfig, OpenAiCompatibleProviderConfig])
export type ProviderConfig = typeof ProviderConfig.Type

/** A header value written in the config, or read from an environment variable when the run starts. */
export const HeaderValue = Schema.Union([
  Schema.String,
  Schema.Struct({
    env: documented(Name, { description: "The environment variable whose value is sent (never written anywhere)." })
  })
])
export type HeaderValue = typeof HeaderValue.Type

/** What happens to an answer cut off by the token limit (`finish_reason: "length"`). */
export const OnTruncated = Schema.Literals(["retry", "keep", "drop"])
export type OnTruncated = typeof OnTruncated.Type

const onTruncatedDocs = {
  description: "An answer cut off by the token limit (`finish_reason: length`): `retry` it (a bounded number of " +
    "attempts, then the row is dropped as `truncated`), `keep` it (and set `<column>__truncated: true`), or `drop` " +
    "the row at once."
}

export const Pricing = Schema.Struct({
  inputPerMillion: documented(NonNegativeNumber, {
    description: "Price of one million prompt tokens.",
    examples: [0.15]
  }),
  outputPerMillion: documented(NonNegativeNumber, {
    description: "Price of one million completion tokens.",
    examples: [0.6]
  })
})
export type Pricing = typeof Pricing.Type

export const ModelConfig = Schema.Struct({
  alias: documented(Name, {
    description: "The name columns use for this model (`columns[].model`).",
    examples: ["writer"]
  }),
  provider: documented(Name, { description: "The `providers[].name` that serves it." }),
  model: documented(Name, { description: "The model's name at the provider.", examples: ["gpt-4o-mini"] }),
  maxParallelRequests: withDefault(PositiveInt, 4, {
    description: "The most requests in flight to this model; lowered on 429s, then raised back."
  }),
  requestsPerMinute: optional(PositiveNumber, {
    description:
      "The most requests per minute to this model (absent: no limit); see `run.requestAdmission.budgetBurstSeconds`.",
    examples: [500]
  }),
  tokensPerMinute: optional(PositiveNumber, {
    description: "The most tokens (prompt + completion) per minute to this model: each call is charged an estimate " +
      "(prompt characters / 4 + its token limit), corrected from the answer's `usage`.",
    examples: [200000]
  }),
  temperature: optional(Schema.Finite.check(Schema.isBetween({ minimum: 0, maximum: 2 })), {
    description: "Sampling temperature (`temperature`).",
    examples: [0.7]
  }),
  topP: optional(Schema.Finite.check(Schema.isBetween({ minimum: 0, maximum: 1 })), {
    description: "Nucleus sampling (`top_p`).",
    examples: [0.9]
  }),
  maxTokens: optional(PositiveInt, { description: "Token limit of one answer (`max_tokens`).", examples: [512] }),
  maxCompletionTokens: optional(PositiveInt, {
    description: "Token limit of one answer, reasoning included (`max_completion_tokens`, for reasoning models).",
    examples: [4096]
  }),
  seed: optional(Schema.Int, { description: "Sampling seed sent to the provider (`seed`).", examples: [42] }),
  stop: optional(Schema.Union([Schema.String, Schema.Array(Schema.String).check(Schema.isMaxLength(4))]), {
    description: "Stop sequence(s) (`stop`): a string or up to 4 strings.",
    examples: [["\n\n"]]
  }),
  timeoutSeconds: optional(PositiveNumber, {
    description: "Per attempt, for this model: overrides the provider's `timeoutSeconds`.",
    examples: [300]
  }),
  extraBody: optional(Schema.Record(Schema.String, Schema.Unknown), {
    description: "Fields added to every request body as they are (e.g. `reasoning_effort`, vLLM's `top_k`).",
    examples: [{ reasoning_effort: "low" }]
  }),
  extraHeaders: optional(Schema.Record(Schema.String, HeaderValue), {
    description: "Headers added to every request; a value may be `{ env: NAME }` to read it from the environment.",
    examples: [{ "X-Team": "data", "X-Api-Token": { env: "GATEWAY_TOKEN" } }]
  }),
  pricing: optional(Pricing, {
    description: "Prices per million tokens: the summary then reports the run's cost."
  }),
  onTruncated: withDefault(OnTruncated, "retry", onTruncatedDocs)
})
export type ModelConfig = typeof ModelConfig.Type

export const TemplateColumn = column("template", "Text rendered from other columns.", {
  template: documented(Schema.String, {
    description: "A Jinja template over the row's columns.",
    examples: ["{{ product }} ({{ rating }}/5)"]
  })
})

const llmFields = {
  model: documented(Name, { description: "The `models[].alias` to call.", examples: ["writer"] }),
  prompt: documented(Schema.NonEmptyString, {
    description: "The user message: a Jinja template over the row's columns.",
    examples: ["Write a review of a {{ product }}."]
  }),
  system: optional(Schema.String, { description: "The system message: a Jinja template too." }),
  onTruncated: optional(OnTruncated, { description: "Overrides the model's `onTruncated` for this column." })
}

export const LlmTextColumn = column("llm-text", "The model's answer, as text.", llmFields)

export const LlmStructuredColumn = column("llm-structured", "The model's answer as JSON that follows a schema.", {
  ...llmFields,
  schema: documented(Schema.Record(Schema.String, Schema.Unknown), {
    description: "A JSON schema the output must validate against; invalid output is retried.",
    examples: [{ type: "object", properties: { sentiment: { type: "string" } }, required: ["sentiment"] }]
  }),
  strict: withDefault(Schema.Boolean, false, {
    description: "Ask the provider to enforce the schema while generating (`response_format.json_schema.strict`; " +
      "OpenAI needs every property required and `additionalProperties: false`)."
  })
})

export const Rubric = Schema.Struct({
  name: documented(Name, {
    description: "The rubric's name (a key of the judge's output).",
    examples: ["helpfulness"]
  }),
  description: documented(Schema.NonEmptyString, { description: "What the judge scores." }),
  minScore: withDefault(Schema.Int, 1, { description: "Lowest score." }),
  maxScore: withDefault(Schema.Int, 5, { description: "Highest score." })
}).check(
  Schema.makeFilter((r) => r.minScore < r.maxScore || { path: ["maxScore"], issue: "Expected maxScore > minScore" })
)

export const LlmJudgeColumn = column("llm-judge", "Scores from a model: `{ <rubric>: { score, reasoning } }`.", {
  ...llmFields,
  rubrics: documented(Schema.NonEmptyArray(Rubric), { description: "What the judge scores, one score each." })
})

export const ColumnConfig = Schema.Union([
  ...samplerColumns,
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
])).mapFields((fields) => ({
  ...fields,
  // The library's default is a full minute's burst; providers (and the mock) enforce per-minute limits over
  // shorter windows, so the CLI sends at most one second's worth at once.
  budgetBurstSeconds: withDefault(
    Schema.Finite.check(Schema.isGreaterThan(0), Schema.isLessThanOrEqualTo(60)),
    1,
    {
      description: "How many seconds' worth of a model's `requestsPerMinute` / `tokensPerMinute` may be sent at once " +
        "(providers enforce per-minute limits over shorter windows; 60: a full minute's)."
    }
  )
}))
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

const RunSettingsFields = Schema.Struct({
  rows: withDefault(
    PositiveInt.check(Schema.isLessThanOrEqualTo(runLimits.rows, {
      message: `Expected at most ${count(runLimits.rows)} rows; split a larger job into several datasets`
    })),
    128,
    { description: "Rows to generate (`--rows` overrides it)." }
  ),
  bufferSize: withDefault(
    PositiveInt.check(Schema.isLessThanOrEqualTo(runLimits.bufferSize, {
      message: `Expected at most ${count(runLimits.bufferSize)} rows per row group`
    })),
    64,
    { description: "Rows per row group (one output file each)." }
  ),
  maxConcurrentRowGroups: withDefault(PositiveInt, 3, { description: "Row groups in progress at once." }),
  maxInFlightTasks: withDefault(PositiveInt, 1024, { description: "Cells in progress at once, across row groups." }),
  seed: withDefault(Schema.Int, 0, {
    description: "Seeds the samplers (category, uniform, uuid): the same seed gives the same rows."
  }),
  requestAdmission: withDefault(RequestAdmissionSettings, {}, {
    description: "How each model's in-flight limit adapts to 429s."
  }),
  preserveDeadlineSeconds: withDefault(Schema.NullOr(PositiveNumber), null, {
    description: "How long a row may keep waiting on rate limits, in total, before it is dropped as " +
      "`preserve_deadline_exceeded` (`null`: as long as the provider needs)."
  }),
  ...outputRunFields
})

// Bounds across fields: row-group files per dataset and rows held in memory at once.
const runSettingsChecks = [
  Schema.makeFilter((run: typeof RunSettingsFields.Type) => {
    const groups = Math.ceil(run.rows / run.bufferSize)
    return groups <= runLimits.rowGroups || {
      path: ["bufferSize"],
      issue: `${count(run.rows)} rows in groups of ${count(run.bufferSize)} would write ${count(groups)} ` +
        `row-group files, more than ${count(runLimits.rowGroups)}; use a bufferSize of at least ${
          count(Math.ceil(run.rows / runLimits.rowGroups))
        }`
    }
  }),
  Schema.makeFilter((run: typeof RunSettingsFields.Type) =>
    run.bufferSize * run.maxConcurrentRowGroups <= runLimits.rowsInMemory || {
      path: ["maxConcurrentRowGroups"],
      issue: `${count(run.maxConcurrentRowGroups)} row groups of ${count(run.bufferSize)} rows would hold ` +
        `${count(run.bufferSize * run.maxConcurrentRowGroups)} rows in memory, more than ` +
        `${count(runLimits.rowsInMemory)}; lower bufferSize or maxConcurrentRowGroups`
    }
  )
] as const

export const RunSettings = RunSettingsFields.check(...runSettingsChecks)
export type RunSettings = typeof RunSettings.Type

export const SluiceConfig = Schema.Struct({
  providers: documented(Schema.Array(ProviderConfig).check(Schema.isMinLength(1)), {
    description: "Where models run."
  }),
  models: withDefault(Schema.Array(ModelConfig), [], {
    description: "The models columns call, each with its provider, limits and inference parameters."
  }),
  seed: optional(SeedDataset, {
    description: "A seed table (CSV, JSONL or Parquet): its columns become columns of every row, usable in " +
      "templates and prompts, and written first."
  }),
  columns: documented(Schema.Array(ColumnConfig).check(Schema.isMinLength(1)), {
    description: "The dataset's columns, in output order; dependencies come from template references."
  }),
  processors: processorsField,
  // Annotated before its checks: the JSON Schema generator keeps the annotations of the unchecked struct.
  run: RunSettingsFields.annotate(
    // The encoded default (every field takes its own); the annotation's type wants the decoded value.
    { ...annotationsOf({ description: "Rows, row groups, concurrency and seeds." }), default: {} } as never
  )
    .check(...runSettingsChecks)
    .pipe(Schema.withDecodingDefault(Effect.succeed({})))
})
export type SluiceConfig = typeof SluiceConfig.Type
