import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { compileTemplate, renderTemplate } from "../../src/templates/Template.js"

const compile = (source: string) => {
  const result = compileTemplate(source)
  if (result._tag === "Failure") throw new Error(result.failure.message)
  return result.success
}

describe("templates", () => {
  it("lists the root names a template reads, once each", () => {
    assert.deepStrictEqual(compile("{{ topic }} and {{ review.score }} and {{ topic | upcase }}").references, [
      "review",
      "topic"
    ])
  })
  it("does not count loop variables or assigned names as references", () => {
    assert.deepStrictEqual(compile("{% assign t = topic %}{% for x in items %}{{ x }}{{ t }}{% endfor %}").references, [
      "items",
      "topic"
    ])
  })
  it("reports syntax errors and unknown filters", () => {
    assert.strictEqual(compileTemplate("{{ topic ")._tag, "Failure")
    assert.strictEqual(compileTemplate("{{ topic | no_such_filter }}")._tag, "Failure")
  })
  it.effect("renders fields, and objects as JSON", () =>
    Effect.gen(function*() {
      const text = yield* renderTemplate(compile("{{ topic }}: {{ verdict }} / {{ verdict.score }}"), {
        topic: "tents",
        verdict: { score: 4, tags: ["a"] }
      })
      assert.strictEqual(text, 'tents: {"score":4,"tags":["a"]} / 4')
    }))
})
