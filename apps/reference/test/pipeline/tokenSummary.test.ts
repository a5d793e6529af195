import { assert, describe, it } from "@effect/vitest"
import type { ModelConfig } from "../../src/config/schema.js"
import { countTokens, emptyTokenTally } from "../../src/pipeline/requestCounters.js"
import { formatTokenLine, tokenSummaryOf } from "../../src/pipeline/tokenSummary.js"

const model = (alias: string, pricing?: ModelConfig["pricing"]): ModelConfig => ({
  alias,
  provider: "p",
  model: `${alias}-model`,
  maxParallelRequests: 4,
  onTruncated: "retry",
  ...(pricing === undefined ? {} : { pricing })
})

describe("token summary", () => {
  it("sums usage per model and in total, prices the models that have prices, and names the others", () => {
    const tally = emptyTokenTally()
    countTokens(tally, "writer", { promptTokens: 1000, completionTokens: 500 })
    countTokens(tally, "writer", { promptTokens: 1000, completionTokens: 1500 })
    countTokens(tally, "judge", { promptTokens: 10, completionTokens: 5 })
    countTokens(tally, "judge", undefined)
    const summary = tokenSummaryOf(tally, [
      model("writer", { inputPerMillion: 0.15, outputPerMillion: 0.6 }),
      model("judge"),
      model("unused", { inputPerMillion: 1, outputPerMillion: 1 })
    ])
    assert.deepStrictEqual(summary, {
      promptTokens: 2010,
      completionTokens: 2005,
      totalTokens: 4015,
      cost: 0.0015,
      unpricedModels: ["judge"],
      byModel: {
        writer: {
          provider: "p",
          model: "writer-model",
          promptTokens: 2000,
          completionTokens: 2000,
          totalTokens: 4000,
          answersWithoutUsage: 0,
          cost: 0.0015
        },
        judge: {
          provider: "p",
          model: "judge-model",
          promptTokens: 10,
          completionTokens: 5,
          totalTokens: 15,
          answersWithoutUsage: 1
        }
      }
    })
    assert.strictEqual(
      formatTokenLine(summary),
      "tokens: 2,010 prompt + 2,005 completion = 4,015 (writer 2,000+2,000 ($0.0015), judge 10+5) · cost $0.0015 " +
        "(no pricing: judge)"
    )
  })
})
