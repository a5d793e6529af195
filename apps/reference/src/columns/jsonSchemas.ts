import { Ajv, type ValidateFunction } from "ajv"
import { Result } from "effect"
import type { LlmColumnConfig } from "../config/schema.js"

// Ajv compiles each schema once per run; `strict: false` accepts the keywords people write in real configs
// (titles, descriptions, examples) without failing.
const ajv = new Ajv({ allErrors: true, strict: false })

export interface OutputSchema {
  readonly schema: Readonly<Record<string, unknown>>
  readonly validate: ValidateFunction
}

const describe = (failure: unknown): string => (failure instanceof Error ? failure.message : String(failure))

export const compileOutputSchema = (schema: Readonly<Record<string, unknown>>): Result.Result<OutputSchema, string> =>
  Result.try({
    try: () => ({ schema, validate: ajv.compile(schema) }),
    catch: (failure) => `invalid JSON schema: ${describe(failure)}`
  })

/** The JSON schema a judge's answer must follow: per rubric, an integer score in range and a short reasoning. */
export const judgeSchema = (column: Extract<LlmColumnConfig, { readonly type: "llm-judge" }>) => ({
  type: "object",
  properties: Object.fromEntries(column.rubrics.map((rubric) => [rubric.name, {
    type: "object",
    description: rubric.description,
    properties: {
      score: { type: "integer", minimum: rubric.minScore, maximum: rubric.maxScore },
      reasoning: { type: "string" }
    },
    required: ["score", "reasoning"],
    additionalProperties: false
  }])),
  required: column.rubrics.map((rubric) => rubric.name),
  additionalProperties: false
})

/** The schema an LLM column's output must match, if it has one. */
export const outputSchemaOf = (column: LlmColumnConfig): Readonly<Record<string, unknown>> | undefined => {
  switch (column.type) {
    case "llm-structured":
      return column.schema
    case "llm-judge":
      return judgeSchema(column)
    case "llm-text":
      return undefined
  }
}

/** Ajv's first errors as one line: `/score: must be integer; /sentiment: must be equal to one of the allowed values`. */
export const describeSchemaErrors = (validate: ValidateFunction): string =>
  (validate.errors ?? [])
    .slice(0, 3)
    .map((error) => `${error.instancePath === "" ? "(root)" : error.instancePath}: ${error.message ?? "invalid"}`)
    .join("; ")
