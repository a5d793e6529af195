import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { resolveConfig } from "../../src/config/loadConfig.js"
import { broken, valid } from "../fixtures/configs.js"

const firstLine = (raw: unknown) =>
  resolveConfig("config.yaml", raw).pipe(Effect.flip, Effect.map((error) => error.firstLine))

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
