import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { buildColumns, unfenced } from "../../src/columns/buildColumns.js"
import { ModelGateway, type ModelRequest } from "../../src/columns/ModelGateway.js"
import { cellRandom, sampleCategory, sampleUniform, sampleUuid } from "../../src/columns/samplers.js"
import { resolveConfig } from "../fixtures/resolveConfig.js"

const config = {
  providers: [{ name: "local", type: "mock" }],
  models: [{ alias: "writer", provider: "local", model: "mock-writer", maxParallelRequests: 4 }],
  columns: [
    { name: "id", type: "uuid" },
    { name: "kind", type: "category", values: ["a", "b", "c"], weights: [1, 2, 3] },
    { name: "score", type: "uniform", min: 0, max: 10, integer: true },
    { name: "text", type: "llm-text", model: "writer", prompt: "About {{ kind }}" }
  ],
  run: { rows: 10, bufferSize: 4, seed: 11 }
}

describe("buildColumns", () => {
  it.effect("samplers are one full-column task per row group, drawing each cell from its dataset row", () =>
    Effect.gen(function*() {
      const loaded = yield* resolveConfig("<test>", config)
      const columns = buildColumns(loaded.columns, { seed: 11, scheduling: new Map() })
      const strategies = Object.fromEntries(columns.map((c) => [c.name, c.strategy]))
      assert.deepStrictEqual(strategies, { id: "full", kind: "full", score: "full", text: "cell" })
      // Row group 1 (dataset rows 4–7) after row 5 was dropped: survivors 4, 6, 7.
      const input = { rowGroup: 1, firstRow: 4, rowIndexes: [0, 2, 3], rows: [{}, {}, {}] }
      const generated = new Map<string, ReadonlyArray<Record<string, unknown>>>()
      for (const column of columns) {
        if (column.strategy === "full") generated.set(column.name, yield* column.generate(input))
      }
      const rows = [4, 6, 7]
      assert.deepStrictEqual(generated.get("id"), rows.map((row) => ({ id: sampleUuid(cellRandom(11, "id", row)) })))
      assert.deepStrictEqual(
        generated.get("kind"),
        rows.map((row) => ({ kind: sampleCategory(["a", "b", "c"], [1, 2, 3], cellRandom(11, "kind", row)) }))
      )
      assert.deepStrictEqual(
        generated.get("score"),
        rows.map((row) => ({ score: sampleUniform(0, 10, true, cellRandom(11, "score", row)) }))
      )
    }).pipe(Effect.provideService(ModelGateway, { complete: () => Effect.die("samplers never call a model") })))

  it.effect("model calls carry their task's ids only with run.events (nothing is built when it is off)", () =>
    Effect.gen(function*() {
      const loaded = yield* resolveConfig("<test>", config)
      const seen: Array<ModelRequest> = []
      const gateway = ModelGateway.of({
        complete: (request) => Effect.sync(() => (seen.push(request), { content: "ok", truncated: false }))
      })
      const input = { rowGroup: 1, rowIndex: 2, row: 6, values: { kind: "a" } }
      for (const events of [false, true]) {
        const text = buildColumns(loaded.columns, { seed: 11, scheduling: new Map(), events })
          .find((c) => c.name === "text")!
        assert.strictEqual(text.strategy, "cell")
        if (text.strategy === "cell") yield* text.generate(input).pipe(Effect.provideService(ModelGateway, gateway))
      }
      assert.isUndefined(seen[0]?.task)
      assert.deepStrictEqual(seen[1]?.task, { taskId: "cell:1:2:text", rowGroup: 1, row: 6 })
    }))
})

describe("buildColumns: skip.when", () => {
  it.effect("a column with skip.when gets a predicate over the row; the others get none", () =>
    Effect.gen(function*() {
      const loaded = yield* resolveConfig("<test>", {
        ...config,
        columns: [
          ...config.columns.slice(0, 3),
          { ...config.columns[3], skip: { when: "score > 5 and kind != 'c'" } }
        ]
      })
      const columns = buildColumns(loaded.columns, { seed: 11, scheduling: new Map() })
      assert.deepStrictEqual(columns.map((c) => c.skip !== undefined), [false, false, false, true])
      const skip = columns[3]!.skip!
      assert.isTrue(skip({ score: 6, kind: "a" }))
      assert.isFalse(skip({ score: 6, kind: "c" }))
      assert.isFalse(skip({ score: 2, kind: "a" }))
      assert.deepStrictEqual(columns[3]!.requires, ["kind", "score"], "the condition's columns are requirements")
    }))
})

describe("unfenced (structured answers in a Markdown code fence)", () => {
  it("takes the JSON out of one fence, with or without a language; leaves anything else as it is", () => {
    assert.strictEqual(unfenced("```json\n{\"a\":1}\n```"), "{\"a\":1}")
    assert.strictEqual(unfenced("  ```\n[1, 2]\n```\n"), "[1, 2]")
    assert.strictEqual(unfenced("```json\r\n{\"b\":2}```"), "{\"b\":2}")
    assert.strictEqual(unfenced("{\"c\":3}"), "{\"c\":3}")
    // Prose around a fence is not a fenced answer.
    const prose = "Here it is:\n```json\n{}\n```"
    assert.strictEqual(unfenced(prose), prose)
  })
})
