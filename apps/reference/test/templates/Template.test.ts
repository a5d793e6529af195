import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { compileTemplate, renderTemplate } from "../../src/templates/Template.js"

const compile = (source: string) => {
  const result = compileTemplate(source)
  if (result._tag === "Failure") throw new Error(result.failure.message)
  return result.success
}

const problem = (source: string): string => {
  const result = compileTemplate(source)
  if (result._tag === "Success") throw new Error(`accepted: ${source}`)
  return result.failure.message
}

const render = (source: string, row: Record<string, unknown>) => renderTemplate(compile(source), row)

describe("templates (Jinja)", () => {
  it("lists the root names a template reads, once each", () => {
    assert.deepStrictEqual(compile("{{ topic }} and {{ review.score }} and {{ topic | upper }}").references, [
      "review",
      "topic"
    ])
  })

  it("finds references inside if / elif / for, filter arguments and tests; not loop or set names", () => {
    const template = compile(
      "{% set t = topic %}{% if mood == 'happy' %}a{% elif tone is defined %}b{% else %}{{ fallback }}{% endif %}" +
        "{% for x in items %}{{ x }}{{ t }}{{ loop.index }}{{ x.name | default(other) }}{% else %}{{ empty }}" +
        "{% endfor %}{{ {'k': dictValue}['k'] }}"
    )
    assert.deepStrictEqual(template.references, [
      "dictValue",
      "empty",
      "fallback",
      "items",
      "mood",
      "other",
      "tone",
      "topic"
    ])
  })

  it("refuses include, import, extends, macros and calls at compile time, naming the construct", () => {
    assert.include(problem("{% include '.env' %}"), "unsupported tag `include`")
    assert.include(problem("{% import 'x.html' as x %}"), "unsupported tag `import`")
    assert.include(problem("{% from 'x.html' import y %}"), "unsupported tag `from … import`")
    assert.include(problem("{% extends 'base.html' %}"), "unsupported tag `extends`")
    assert.include(problem("{% macro m() %}x{% endmacro %}"), "unsupported tag `macro`")
    assert.include(problem("{{ range(3) }}"), "function calls are not supported")
    assert.include(problem("{{ topic.constructor }}"), "the property `constructor` cannot be read")
    assert.include(problem("{{ x.upper() }}"), "function calls are not supported")
  })

  it("refuses unknown filters and tags, naming them", () => {
    assert.include(problem("{{ topic | upcase }}"), "unknown filter `upcase`")
    assert.include(problem("{{ topic | random }}"), "unknown filter `random`")
    assert.include(problem("{% render 'package.json' %}"), "render")
    assert.include(problem("{{ topic "), "template syntax error")
    assert.include(problem("{% if x is callable %}y{% endif %}"), "unknown test `callable`")
  })

  // The expected outputs are what jinja2 3.1.6's SandboxedEnvironment renders for the same templates and row.
  it.effect("renders the Jinja filters as Jinja does", () =>
    Effect.gen(function*() {
      const row = {
        name: "  ada lovelace-byron (countess) ",
        items: ["b", "a", "c"],
        obj: { z: 1, a: [1, 2.5, null, true], s: "<é & 'x'>" },
        empty: ""
      }
      const cases: ReadonlyArray<readonly [string, string]> = [
        ["{{ name | upper }}", "  ADA LOVELACE-BYRON (COUNTESS) "],
        ["{{ name | lower }}", "  ada lovelace-byron (countess) "],
        ["{{ name | trim | title }}", "Ada Lovelace-Byron (Countess)"],
        ["{{ 'hELLO wORLD' | title }}", "Hello World"],
        ["{{ name | trim }}", "ada lovelace-byron (countess)"],
        ["{{ missing | default('n/a') }}", "n/a"],
        ["{{ empty | default('n/a') }}", ""],
        ["{{ empty | default('n/a', true) }}", "n/a"],
        ["{{ items | join(', ') }}", "b, a, c"],
        ["{{ items | join }}", "bac"],
        ["{{ items | length }}", "3"],
        ["{{ name | length }}", "32"],
        ["{{ 'a-b-a-b' | replace('a', 'x') }}", "x-b-x-b"],
        ["{{ 'a-b-a-b' | replace('a', 'x', 1) }}", "x-b-a-b"],
        [
          "{{ obj | tojson }}",
          "{\"a\": [1, 2.5, null, true], \"s\": \"\\u003c\\u00e9 \\u0026 \\u0027x\\u0027\\u003e\", \"z\": 1}"
        ],
        ["{{ items | tojson }}", "[\"b\", \"a\", \"c\"]"],
        ["{{ obj.a | tojson(2) }}", "[\n  1,\n  2.5,\n  null,\n  true\n]"],
        ["{{ obj.z }} {{ obj.a[1] }}", "1 2.5"],
        ["{% if obj.z > 1 %}big{% elif obj.z == 1 %}one{% else %}small{% endif %}", "one"],
        ["{% for i in items %}{{ loop.index }}={{ i }}{% if not loop.last %},{% endif %}{% endfor %}", "1=b,2=a,3=c"],
        ["{% for i in [] %}x{% else %}none{% endfor %}", "none"]
      ]
      for (const [source, expected] of cases) assert.strictEqual(yield* render(source, row), expected, source)
    }))

  it.effect("renders objects and lists as JSON, and drops one trailing newline as Jinja does", () =>
    Effect.gen(function*() {
      const text = yield* render("{{ topic }}: {{ verdict }} / {{ verdict.score }} / {{ verdict.tags }}\n", {
        topic: "tents",
        verdict: { score: 4, tags: ["a"] }
      })
      assert.strictEqual(text, "tents: {\"score\":4,\"tags\":[\"a\"]} / 4 / [\"a\"]")
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
        "{{ topic | upper }}",
        "{{ review.score }}",
        "{{- topic }}",
        "{{ topic -}}",
        "{% if topic %}x{% endif %}",
        "{{ true }}",
        "{{ none }}",
        "{# a comment #}{{ topic }}",
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
