import { assert, it } from "@effect/vitest"
import { execFileSync } from "node:child_process"
import { readFileSync } from "node:fs"
import { fileURLToPath } from "node:url"

const packageDir = fileURLToPath(new URL("..", import.meta.url))
const readme = readFileSync(new URL("../README.md", import.meta.url), "utf8")

it("`node examples/readme.ts`: one local sampler and two LLM columns on one endpoint, and the plan the README shows", () => {
  // As a user runs it: plain node, the package imported by its published name (resolved to the built dist/).
  const stdout = execFileSync(process.execPath, ["examples/readme.ts"], { cwd: packageDir, encoding: "utf8" })
  const [values = "", ...plan] = stdout.split("\n")
  // "writer" allows 32, but "critic" on the same endpoint allows 8: the endpoint's cap is the minimum
  assert.deepStrictEqual(JSON.parse(values), {
    reviewGroup: {
      key: { kind: "model", identity: "openai/gpt-4o/chat", flow: "review" },
      weight: 8,
      admittedLimit: 16
    },
    reviewRequest: { submission: 1, llm_wait: 1, "request:openai/gpt-4o": 1 },
    topicRequest: { submission: 1 },
    limits: { submission: 128, llm_wait: 128, "request:openai/gpt-4o": 8 }
  })
  assert.strictEqual(
    plan.join("\n"),
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
      "diagnostics: none",
      ""
    ].join("\n")
  )
  assert.include(readme, "```\n" + plan.join("\n") + "```")
})
