import { assert, it } from "@effect/vitest"
import { Effect } from "effect"
import { readFileSync } from "node:fs"
import { program } from "../examples/readme.js"

const readme = readFileSync(new URL("../README.md", import.meta.url), "utf8")
const example = readFileSync(new URL("../examples/readme.ts", import.meta.url), "utf8")

it.effect("the README example: one local sampler and two LLM columns on one endpoint", () =>
  Effect.gen(function*() {
    const result = yield* program
    // "writer" allows 32, but "critic" on the same endpoint allows 8: the endpoint's cap is the minimum
    assert.deepStrictEqual(result.reviewGroup, {
      key: { kind: "model", identity: "openai/gpt-4o/chat", flow: "review" },
      weight: 8,
      admittedLimit: 16
    })
    assert.deepStrictEqual(result.reviewRequest, { submission: 1, llm_wait: 1, "request:openai/gpt-4o": 1 })
    assert.deepStrictEqual(result.topicRequest, { submission: 1 })
    assert.deepStrictEqual(result.limits, { submission: 128, llm_wait: 128, "request:openai/gpt-4o": 8 })
    assert.strictEqual(
      result.plan,
      [
        "resource                                                  value  source          detail",
        "--------------------------------------------------------  -----  --------------  ---------------------------------------------------",
        "submission                                                128    config          maxInFlightTasks",
        "llm_wait                                                  128    config          maxModelTaskAdmission = maxInFlightTasks",
        "request:openai/gpt-4o                                     8      model_metadata  min weight over review (chat, 8), verdict (chat, 8)",
        "group:local:default/topic.weight                          1      model_metadata  local metadata of topic",
        "group:model:openai%2Fgpt-4o%2Fchat/review.weight          8      model_metadata  model metadata of review",
        "group:model:openai%2Fgpt-4o%2Fchat/review.admittedLimit   16     model_metadata  2 × weight 8",
        "group:model:openai%2Fgpt-4o%2Fchat/verdict.weight         8      model_metadata  model metadata of verdict",
        "group:model:openai%2Fgpt-4o%2Fchat/verdict.admittedLimit  16     model_metadata  2 × weight 8",
        "",
        "diagnostics: none"
      ].join("\n")
    )
  }))

it.effect("the README shows examples/readme.ts (after its header comment) and the plan it prints", () =>
  Effect.gen(function*() {
    const body = example.split("\n").slice(2).join("\n")
    assert.include(readme, "```ts\n" + body + "```")
    assert.include(readme, "```\n" + (yield* program).plan + "\n```")
  }))
