import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { resolveConfig } from "../../src/config/loadConfig.js"

const valid = {
  providers: [{ name: "local", type: "mock" }],
  models: [{ alias: "writer", provider: "local", model: "mock-writer", maxParallelRequests: 8 }],
  columns: [
    { name: "topic", type: "category", values: ["shoes", "tents"] },
    { name: "review", type: "llm-text", model: "writer", prompt: "Write a review of {{ topic }}." },
    {
      name: "verdict",
      type: "llm-structured",
      model: "writer",
      prompt: "Judge: {{ review }}",
      schema: { type: "object", properties: { score: { type: "integer" } }, required: ["score"] }
    }
  ]
}

const firstLine = (raw: unknown) =>
  resolveConfig("config.yaml", raw).pipe(Effect.flip, Effect.map((error) => error.firstLine))

describe("resolveConfig", () => {
  it.effect("fills defaults and infers dependencies from template references", () =>
    Effect.gen(function*() {
      const loaded = yield* resolveConfig("config.yaml", valid)
      assert.strictEqual(loaded.config.run.rows, 128)
      assert.strictEqual(loaded.config.run.requestAdmission.decreaseFactor, 0.75)
      const provider = loaded.config.providers[0]
      assert.strictEqual(provider?.type === "mock" ? provider.mock.capacity : -1, 32)
      assert.deepStrictEqual(loaded.columns.map((c) => c.dependencies), [[], ["topic"], ["review"]])
      assert.strictEqual(loaded.columns[1]?.model?.alias, "writer")
      assert.match(loaded.hash, /^[0-9a-f]{64}$/)
    }))

  it.effect("hashes the decoded config: the same config written differently has the same hash", () =>
    Effect.gen(function*() {
      const a = yield* resolveConfig("a.yaml", valid)
      const b = yield* resolveConfig("b.yaml", { ...valid, run: { rows: 128 } })
      const c = yield* resolveConfig("c.yaml", { ...valid, run: { rows: 64 } })
      assert.strictEqual(a.hash, b.hash)
      assert.notStrictEqual(a.hash, c.hash)
    }))

  const broken: ReadonlyArray<readonly [string, unknown, string]> = [
    [
      "an unknown model alias",
      { ...valid, columns: [valid.columns[0], { ...valid.columns[1], model: "x" }] },
      'columns[1].model: unknown model alias "x"'
    ],
    [
      "an unknown column type",
      { ...valid, columns: [{ name: "x", type: "llm-txt" }] },
      'columns[0].type: unknown column type "llm-txt"; expected one of: category, uniform, uuid, template, llm-text, llm-structured, llm-judge'
    ],
    [
      "an unknown provider type",
      { ...valid, providers: [{ name: "local", type: "mok" }] },
      'providers[0].type: unknown provider type "mok"; expected one of: mock, openai-compatible'
    ],
    [
      "a model on an unknown provider",
      { ...valid, models: [{ ...valid.models[0], provider: "nowhere" }] },
      'models[0].provider: unknown provider "nowhere"'
    ],
    [
      "a template referencing an unknown column",
      { ...valid, columns: [valid.columns[0], { ...valid.columns[1], prompt: "About {{ topik }}" }] },
      'columns[1].prompt: unknown column "topik" in template'
    ],
    [
      "a dependency cycle",
      {
        ...valid,
        columns: [
          { name: "a", type: "template", template: "{{ b }}" },
          { name: "b", type: "template", template: "{{ a }}" }
        ]
      },
      "columns: dependency cycle: a -> b -> a"
    ],
    [
      "a duplicate column",
      { ...valid, columns: [valid.columns[0], valid.columns[0]] },
      'columns[1].name: duplicate column "topic"'
    ],
    [
      "a zero maxParallelRequests",
      { ...valid, models: [{ ...valid.models[0], maxParallelRequests: 0 }] },
      "models[0].maxParallelRequests: Expected a value greater than 0"
    ],
    [
      "a missing prompt",
      { ...valid, columns: [valid.columns[0], { name: "r", type: "llm-text", model: "writer" }] },
      "columns[1].prompt: required field is missing"
    ],
    [
      "category weights that do not match the values",
      { ...valid, columns: [{ name: "topic", type: "category", values: ["a", "b"], weights: [1] }] },
      "columns[0].weights: Expected 2 weights, one per value"
    ],
    [
      "a non-http base URL",
      { ...valid, providers: [{ name: "local", type: "openai-compatible", baseUrl: "ftp://example.com" }] },
      "providers[0].baseUrl: Expected an http(s) URL"
    ],
    [
      "a template syntax error",
      { ...valid, columns: [valid.columns[0], { ...valid.columns[1], prompt: "About {{ topic " }] },
      "columns[1].prompt: template syntax error"
    ],
    ["a config with no columns", { ...valid, columns: [] }, "columns: Expected a value with a length of at least 1"],
    ["rows that are not a number", { ...valid, run: { rows: "ten" } }, "run.rows: Expected number"],
    [
      "a self-referencing column",
      { ...valid, columns: [{ name: "a", type: "template", template: "{{ a }}" }] },
      'columns[0].template: column "a" references itself'
    ]
  ]
  for (const [name, raw, expected] of broken) {
    it.effect(`names the path of ${name}`, () =>
      Effect.gen(function*() {
        const line = yield* firstLine(raw)
        assert.isTrue(line.startsWith(expected), `got: ${line}`)
      }))
  }

  it.effect("reports every issue, and says so on the first line", () =>
    Effect.gen(function*() {
      const error = yield* resolveConfig("config.yaml", {
        ...valid,
        models: [{ ...valid.models[0], maxParallelRequests: 0 }],
        run: { rows: 0 }
      }).pipe(Effect.flip)
      assert.strictEqual(error.issues.length, 2)
      assert.include(error.firstLine, "(and 1 more: run `sluice validate`)")
    }))
})
