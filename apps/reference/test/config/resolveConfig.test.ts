import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { resolveConfig } from "../fixtures/resolveConfig.js"
import { redactedConfig } from "../../src/config/redactedConfig.js"
import { broken, valid } from "../fixtures/configs.js"

const firstLine = (raw: unknown) =>
  resolveConfig("config.yaml", raw).pipe(Effect.flip, Effect.map((error) => error.report))

describe("resolveConfig", () => {
  it.effect("fills defaults and infers dependencies from template references", () =>
    Effect.gen(function*() {
      const loaded = yield* resolveConfig("config.yaml", valid)
      assert.strictEqual(loaded.config.run.rows, 128)
      assert.strictEqual(loaded.config.run.requestAdmission.decreaseFactor, 0.75)
      assert.strictEqual(loaded.config.run.requestAdmission.slowStartProbeSeconds, 0.01)
      assert.isTrue(loaded.config.run.requestAdmission.slowStart)
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

  for (const [name, raw, expected] of broken) {
    it.effect(`names the path of ${name}`, () =>
      Effect.gen(function*() {
        const line = yield* firstLine(raw)
        assert.isTrue(line.startsWith(expected), `got: ${line}`)
      }))
  }

  it.effect("reports every issue, each on its own line, never a truncated list", () =>
    Effect.gen(function*() {
      const error = yield* resolveConfig("config.yaml", {
        ...valid,
        models: [{ ...valid.models[0], maxParallelRequests: 0 }],
        run: { rows: 0 }
      }).pipe(Effect.flip)
      assert.strictEqual(error.issues.length, 2)
      assert.strictEqual(
        error.report,
        [
          "2 problems in config.yaml:",
          "  models[0].maxParallelRequests: Expected a value greater than 0",
          "  run.rows: Expected a value greater than 0"
        ].join("\n")
      )
      assert.notInclude(error.report, "more")
    }))

  it.effect("names every unknown key with the key it most likely meant (typos, snake_case, Data Designer names)", () =>
    Effect.gen(function*() {
      const error = yield* resolveConfig("config.yaml", {
        providers: [{ name: "local", type: "mock", mock: { capacty: 3 } }],
        models: [{ ...valid.models[0], maxParalelRequests: 3, top_p: 0.5 }],
        columns: [valid.columns[0], { ...valid.columns[1], system_prompt: "Be brief.", model_alias: "writer" }],
        run: { rowz: 3 }
      }).pipe(Effect.flip)
      assert.deepStrictEqual(error.issues, [
        { path: "providers[0].mock.capacty", problem: "unknown key — did you mean `capacity`?" },
        { path: "models[0].maxParalelRequests", problem: "unknown key — did you mean `maxParallelRequests`?" },
        { path: "models[0].top_p", problem: "unknown key — did you mean `topP`?" },
        { path: "columns[1].system_prompt", problem: "unknown key — did you mean `system`?" },
        { path: "columns[1].model_alias", problem: "unknown key — did you mean `model`?" },
        { path: "run.rowz", problem: "unknown key — did you mean `rows`?" }
      ])
    }))

  it.effect("an unknown key with nothing close lists the keys that are known there", () =>
    Effect.gen(function*() {
      const error = yield* resolveConfig("config.yaml", { ...valid, run: { banana: 1 } }).pipe(Effect.flip)
      assert.match(error.report, /^run\.banana: unknown key; expected one of: rows, bufferSize, /)
    }))
})

describe("a config that is written out", () => {
  it.effect("keeps header values out: literal ones are redacted, environment ones are only names", () =>
    Effect.gen(function*() {
      const loaded = yield* resolveConfig("config.yaml", {
        ...valid,
        models: [{ ...valid.models[0], extraHeaders: { "X-Token": "tok-literal-123456", "X-Key": { env: "KEY_VAR" } } }]
      })
      const written = JSON.stringify(redactedConfig(loaded.config))
      assert.notInclude(written, "tok-literal-123456")
      assert.include(written, "\"X-Token\":\"[redacted]\"")
      assert.include(written, "\"X-Key\":{\"env\":\"KEY_VAR\"}")
    }))
})
