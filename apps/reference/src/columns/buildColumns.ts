import { generationValidationError } from "@sluice/errors"
import type { SchedulingMetadata } from "@sluice/resolver"
import { taskId } from "@sluice/scheduling-resources"
import type { CellColumn, CellInput, Column, FullColumn, GenerationFailure, RowValues } from "@sluice/scheduler"
import { Effect } from "effect"
import { type ResolvedColumn, skipWhenField, truncatedFlagColumn } from "../config/checkReferences.js"
import type { LlmColumnConfig } from "../config/schema.js"
import { evaluateCondition } from "../templates/condition.js"
import { renderTemplate, type TemplateError } from "../templates/Template.js"
import { describeSchemaErrors } from "./jsonSchemas.js"
import { type ChatMessage, ModelGateway } from "./ModelGateway.js"
import { conditionalDraw, type Draw, drawOf } from "./samplerDraws.js"
import { cellRandom } from "./samplers.js"
import { seedColumn } from "../seed/seedColumn.js"

export interface ColumnBuildContext {
  /** Seeds the samplers: the same seed and row give the same value. */
  readonly seed: number
  readonly scheduling: ReadonlyMap<string, SchedulingMetadata>
  /** `run.events`: model calls carry their task's ids. */
  readonly events?: boolean
}

const value = (name: string, result: unknown) => ({ [name]: result })

const render = (
  column: ResolvedColumn,
  field: string,
  input: CellInput
): Effect.Effect<string | undefined, TemplateError> => {
  const template = column.templates[field]
  return template === undefined ? Effect.succeed(undefined) : renderTemplate(template, input.values)
}

// A template that fails to render against a row is that row's failure, not the run's: drop it with its cause.
const renderOrFail = (column: ResolvedColumn, field: string, input: CellInput) =>
  render(column, field, input).pipe(
    Effect.mapError((error) =>
      generationValidationError({
        provider: column.provider?.name ?? "local",
        model: column.model?.model ?? column.config.name,
        detail: `${field} ${error.message}`,
        purpose: `generating column '${column.config.name}'`
      })
    )
  )

/**
 * The scheduler's skip predicate of a column with `skip.when`: true skips the cell (written as null, no model
 * call). A condition that fails to render against a row drops that row with the reason, like a prompt would.
 */
const skipOf = (column: ResolvedColumn): { readonly skip?: (values: RowValues) => boolean | GenerationFailure } => {
  const when = column.templates[skipWhenField]
  if (when === undefined) return {}
  return {
    skip: (values) => {
      const verdict = evaluateCondition(when, values)
      return verdict._tag === "Success" ? verdict.success : generationValidationError({
        provider: column.provider?.name ?? "local",
        model: column.model?.model ?? column.config.name,
        detail: `skip.when ${verdict.failure.message}`,
        purpose: `deciding whether to skip column '${column.config.name}'`
      })
    }
  }
}

const judgeInstructions = (config: Extract<LlmColumnConfig, { readonly type: "llm-judge" }>): string =>
  [
    "Score the text on each rubric and explain each score in one sentence. Answer with JSON only.",
    ...config.rubrics.map((r) => `- ${r.name} (${r.minScore}-${r.maxScore}): ${r.description}`)
  ].join("\n")

const taskOf = (column: string, input: CellInput) => ({
  taskId: taskId({ type: "cell", rowGroup: input.rowGroup, rowIndex: input.rowIndex, column }),
  rowGroup: input.rowGroup,
  row: input.row
})

const llmColumn = (
  column: ResolvedColumn,
  config: LlmColumnConfig,
  scheduling: SchedulingMetadata | undefined,
  events: boolean
): CellColumn<ModelGateway> => {
  const model = column.model
  // The config check resolves every LLM column's model; a missing one is a bug, reported as a defect.
  if (model === undefined) {
    return cell(column, scheduling, () => Effect.die(`column ${config.name} has no resolved model`))
  }
  const purpose = `generating column '${config.name}'`
  const outputSchema = column.outputSchema
  const instructions = config.type === "llm-judge" ? judgeInstructions(config) : undefined
  const generate = Effect.fnUntraced(function*(
    input: CellInput
  ): Effect.fn.Return<RowValues, GenerationFailure, ModelGateway> {
    const gateway = yield* ModelGateway
    const system = yield* renderOrFail(column, "system", input)
    const prompt = yield* renderOrFail(column, "prompt", input)
    const messages: Array<ChatMessage> = []
    if (system !== undefined) messages.push({ role: "system", content: system })
    messages.push({
      role: "user",
      content: instructions !== undefined ? `${prompt}\n\n${instructions}` : (prompt ?? "")
    })
    const strict = config.type === "llm-structured" && config.strict
    const answer = yield* gateway.complete({
      column: config.name,
      // Only with `run.events`: the ids are built for the event log alone.
      ...(events ? { task: taskOf(config.name, input) } : {}),
      model,
      messages,
      ...(column.onTruncated === undefined ? {} : { onTruncated: column.onTruncated }),
      ...(outputSchema === undefined ? {} : {
        responseFormat: { name: config.name, schema: outputSchema.schema, ...(strict ? { strict: true } : {}) }
      })
    })
    const content = answer.content
    // With `onTruncated: keep`, every row says whether its value was cut off.
    const flag = column.onTruncated === "keep" ? { [truncatedFlagColumn(config.name)]: answer.truncated } : {}
    if (outputSchema === undefined) return { ...value(config.name, content), ...flag }
    // Output that is not valid JSON, or does not match the schema, is a retryable generation failure.
    const invalid = (detail: string) =>
      generationValidationError({ provider: model.provider, model: model.model, detail, purpose })
    const parsed = yield* Effect.try({
      try: () => JSON.parse(unfenced(content)) as unknown,
      catch: () => invalid(`the output is not JSON: ${JSON.stringify(content.slice(0, 120))}`)
    })
    if (!outputSchema.validate(parsed)) return yield* invalid(describeSchemaErrors(outputSchema.validate))
    return { ...value(config.name, parsed), ...flag }
  })
  return cell(column, scheduling, generate)
}

/**
 * The JSON inside one Markdown code fence (```json … ```), which many servers wrap structured answers in even when
 * asked for JSON; any other text as it is.
 */
export const unfenced = (text: string): string => {
  const fenced = /^\s*```[\w-]*[ \t]*\r?\n([\s\S]*?)\r?\n?```\s*$/.exec(text)
  return fenced === null ? text : fenced[1]!
}

const cell = <R>(
  column: ResolvedColumn,
  scheduling: SchedulingMetadata | undefined,
  generate: CellColumn<R>["generate"]
): CellColumn<R> => ({
  name: column.config.name,
  strategy: "cell",
  ...(column.outputs.length > 1 ? { outputs: column.outputs } : {}),
  requires: column.dependencies,
  ...(scheduling === undefined ? {} : { scheduling }),
  ...skipOf(column),
  generate
})

/**
 * A sampler is one full-column task per row group, as in Data Designer: one task samples the whole group, so a
 * run does not start with a worker per row before its first model call. Each cell still draws from its own
 * stream keyed by its dataset row (`cellRandom`), so values do not depend on row groups, order or resumes.
 */
const sampler = (
  column: ResolvedColumn,
  scheduling: SchedulingMetadata | undefined,
  seed: number,
  draw: Draw
): FullColumn<ModelGateway> => {
  const name = column.config.name
  return {
    name,
    strategy: "full",
    requires: column.dependencies,
    ...(scheduling === undefined ? {} : { scheduling }),
    ...skipOf(column),
    generate: (input) =>
      Effect.sync(() =>
        input.rowIndexes.map((index, i) =>
          value(name, draw(cellRandom(seed, name, input.firstRow + index), input.rows[i] ?? {}))
        )
      )
  }
}

/** Turns each configured column into a scheduler column: samplers and templates locally, LLM columns via models. */
export const buildColumns = (
  columns: ReadonlyArray<ResolvedColumn>,
  context: ColumnBuildContext
): ReadonlyArray<Column<ModelGateway>> =>
  columns.map((column): Column<ModelGateway> => {
    const config = column.config
    const scheduling = context.scheduling.get(config.name)
    if (config.type === "seed") return seedColumn(config.name, config.source, scheduling)
    const draw = drawOf(config)
    if (draw !== undefined) {
      return sampler(column, scheduling, context.seed, conditionalDraw(draw, column.conditions))
    }
    switch (config.type) {
      case "template":
        return cell<ModelGateway>(column, scheduling, (input) =>
          renderOrFail(column, "template", input).pipe(Effect.map((text) =>
            value(config.name, text ?? "")
          )))
      case "llm-text":
      case "llm-structured":
      case "llm-judge":
        return llmColumn(column, config, scheduling, context.events === true)
      default:
        return cell(column, scheduling, () => Effect.die(`column ${config.name} has no generator`))
    }
  })
