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
      assert.strictEqual(text, "tents: {\"score\":4,\"tags\":[\"a\"]} / 4")
    }))
})

describe("the simple-template path", () => {
  // The engine's own rendering, for comparison with the fast path.
  const viaEngine = (source: string) => ({ ...compile(source), simple: undefined })

  it("is taken only for literal text with bare {{ name }} outputs", () => {
    assert.isDefined(compile("Write note 3 about {{ topic }}.").simple)
    assert.isDefined(compile("{{topic}}{{ other }}").simple)
    assert.isDefined(compile("no outputs at all").simple)
    for (
      const source of [
        "{{ topic | upcase }}",
        "{{ review.score }}",
        "{{- topic }}",
        "{{ topic -}}",
        "{% if topic %}x{% endif %}",
        "{{ true }}",
        "{{ nil }}",
        "{{ empty }}",
        "{{ 'quoted' }}",
        "{{ items[0] }}"
      ]
    ) assert.isUndefined(compile(source).simple, source)
  })

  it.effect("renders exactly what the engine renders, for every kind of value", () =>
    Effect.gen(function*() {
      const sources = ["Write note 3 about {{ topic }}.", "{{topic}}/{{ other }}!", "a { b } {{ topic }} }} c", "plain"]
      const rows: ReadonlyArray<Record<string, unknown>> = [
        { topic: "tents", other: "lamps" },
        { topic: "", other: "x" },
        { topic: "{{ other }}", other: "y" },
        { topic: 3, other: "x" },
        { topic: 0.1, other: null },
        { topic: true, other: "x" },
        { topic: { score: 4 }, other: ["a", "b"] },
        { other: "only" },
        Object.create({ topic: "inherited" }) as Record<string, unknown>
      ]
      for (const source of sources) {
        for (const row of rows) {
          const fast = yield* renderTemplate(compile(source), row)
          const engine = yield* renderTemplate(viaEngine(source), row)
          assert.strictEqual(fast, engine, `${source} with ${JSON.stringify(row)}`)
        }
      }
    }))
})
