import type { ModelConfig } from "../config/schema.js"
import type { TokenTally } from "./requestCounters.js"

/** One model alias's token usage in `summary.json`, and its cost when the config gives its prices. */
export interface ModelTokenSummary {
  readonly provider: string
  readonly model: string
  readonly promptTokens: number
  readonly completionTokens: number
  readonly totalTokens: number
  /** Answers whose provider sent no `usage` (their tokens are missing from the counts). */
  readonly answersWithoutUsage: number
  /** `promptTokens × inputPerMillion + completionTokens × outputPerMillion`, over a million. */
  readonly cost?: number
}

/** `summary.json`'s `tokens`: totals over every model, and per model alias. */
export interface TokenSummary {
  readonly promptTokens: number
  readonly completionTokens: number
  readonly totalTokens: number
  /** The cost of the models that have `pricing` (see `unpricedModels` for the ones left out). */
  readonly cost?: number
  /** Models that answered but have no `pricing`, when some others have: the cost leaves them out. */
  readonly unpricedModels?: ReadonlyArray<string>
  readonly byModel: Readonly<Record<string, ModelTokenSummary>>
}

// Costs are money: rounded to a millionth, so float noise does not show.
const roundCost = (value: number) => Math.round(value * 1e6) / 1e6

/** The token usage of a run, per model alias in config order, with costs where prices are known. */
export const tokenSummaryOf = (tally: TokenTally, models: ReadonlyArray<ModelConfig>): TokenSummary => {
  const byModel: Record<string, ModelTokenSummary> = {}
  let promptTokens = 0
  let completionTokens = 0
  let cost: number | undefined
  const unpriced: Array<string> = []
  for (const model of models) {
    const counts = tally.get(model.alias)
    if (counts === undefined) continue
    const modelCost = model.pricing === undefined ? undefined : roundCost(
      (counts.promptTokens * model.pricing.inputPerMillion + counts.completionTokens * model.pricing.outputPerMillion) /
        1e6
    )
    if (modelCost === undefined) unpriced.push(model.alias)
    else cost = (cost ?? 0) + modelCost
    promptTokens += counts.promptTokens
    completionTokens += counts.completionTokens
    byModel[model.alias] = {
      provider: model.provider,
      model: model.model,
      promptTokens: counts.promptTokens,
      completionTokens: counts.completionTokens,
      totalTokens: counts.promptTokens + counts.completionTokens,
      answersWithoutUsage: counts.answersWithoutUsage,
      ...(modelCost === undefined ? {} : { cost: modelCost })
    }
  }
  return {
    promptTokens,
    completionTokens,
    totalTokens: promptTokens + completionTokens,
    ...(cost === undefined ? {} : { cost: roundCost(cost) }),
    ...(cost !== undefined && unpriced.length > 0 ? { unpricedModels: unpriced } : {}),
    byModel
  }
}

/** A summary with the run's token usage added as `tokens`. */
export const withTokenSummary = <S extends object>(summary: S, tokens: TokenSummary): S & { tokens: TokenSummary } => ({
  ...summary,
  tokens
})

const count = (n: number) => n.toLocaleString("en-US")
const money = (n: number) => (n >= 0.01 ? n.toFixed(2) : n.toPrecision(2))

/** The summary's token line: totals, then each model, then the cost when prices are known. */
export const formatTokenLine = (tokens: TokenSummary | undefined): string | undefined => {
  if (tokens === undefined) return undefined
  const models = Object.entries(tokens.byModel).map(([alias, m]) =>
    `${alias} ${count(m.promptTokens)}+${count(m.completionTokens)}${
      m.cost === undefined ? "" : ` ($${money(m.cost)})`
    }`
  )
  const cost = tokens.cost === undefined
    ? ""
    : ` · cost $${money(tokens.cost)}${
      tokens.unpricedModels === undefined ? "" : ` (no pricing: ${tokens.unpricedModels.join(", ")})`
    }`
  return `tokens: ${count(tokens.promptTokens)} prompt + ${count(tokens.completionTokens)} completion = ${
    count(tokens.totalTokens)
  }${models.length === 0 ? "" : ` (${models.join(", ")})`}${cost}`
}
