import { assert, describe, it } from "@effect/vitest"
import { Schema } from "effect"
import { ChatCompletionWire, isChatCompletionWire } from "../../src/client/ChatCompletion.js"

// The hot-path check must accept exactly what the schema accepts; a rejected body is decoded again by the schema
// for its error message, so a disagreement would change either results or messages.
const decode = Schema.decodeUnknownExit(ChatCompletionWire)

const choice = { message: { role: "assistant", content: "hi" }, finish_reason: "stop" }
const bodies: ReadonlyArray<unknown> = [
  { id: "x", model: "m", choices: [choice], usage: { prompt_tokens: 1, completion_tokens: 2, total_tokens: 3 } },
  { choices: [choice] },
  { choices: [choice, choice] },
  { choices: [{ message: {} }] },
  { choices: [{ message: { content: null }, finish_reason: null }] },
  { choices: [{ message: { content: 1 } }] },
  { choices: [{ message: "text" }] },
  { choices: [{ message: null }] },
  { choices: [{ message: [] }] },
  { choices: [{ finish_reason: "stop" }] },
  { choices: [{ message: {}, finish_reason: 7 }] },
  { choices: [choice, { message: { content: false } }] },
  { choices: [] },
  { choices: {} },
  { choices: "a" },
  {},
  [],
  [choice],
  null,
  "text",
  3,
  { choices: [choice], id: 3 },
  { choices: [choice], id: null },
  { choices: [choice], model: null },
  { choices: [choice], model: ["m"] },
  { choices: [choice], usage: null },
  { choices: [choice], usage: {} },
  { choices: [choice], usage: [] },
  { choices: [choice], usage: "1" },
  { choices: [choice], usage: { prompt_tokens: 1 } },
  { choices: [choice], usage: { prompt_tokens: 1, completion_tokens: "2" } },
  { choices: [choice], usage: { prompt_tokens: 1, completion_tokens: 2, total_tokens: null } },
  { choices: [choice], usage: { prompt_tokens: 1, completion_tokens: 2, total_tokens: Infinity } },
  { choices: [choice], usage: { prompt_tokens: Number.NaN, completion_tokens: 2 } },
  { choices: [choice], usage: { prompt_tokens: -1.5, completion_tokens: 0 } },
  JSON.parse("{\"choices\":[{\"message\":{}}],\"usage\":{\"prompt_tokens\":1e999,\"completion_tokens\":1}}"),
  {
    object: "chat.completion",
    choices: [{ index: 0, message: { role: "assistant", content: "x", refusal: null }, logprobs: null }]
  }
]

describe("isChatCompletionWire", () => {
  it("accepts exactly the bodies the ChatCompletionWire schema accepts", () => {
    for (const body of bodies) {
      const expected = decode(body)._tag === "Success"
      assert.strictEqual(isChatCompletionWire(body), expected, JSON.stringify(body))
    }
  })
})
