import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { resolveConfig } from "../fixtures/resolveConfig.js"
import { dataChanges, dataIdentityOf } from "../../src/output/dataIdentity.js"
import { valid } from "../fixtures/configs.js"

const identityOf = (config: unknown) =>
  Effect.map(resolveConfig("test.json", config), (loaded) => dataIdentityOf(loaded.config))

describe("dataIdentityOf", () => {
  it.effect("settings that do not change the rows leave the identity alone", () =>
    Effect.gen(function*() {
      const base = yield* identityOf(valid)
      const tuned = yield* identityOf({
        ...valid,
        providers: [{ name: "local", type: "mock", timeoutSeconds: 9, mock: { capacity: 3, serverErrorRate: 0.5 } }],
        models: [{ ...valid.models[0], maxParallelRequests: 64 }],
        run: {
          maxConcurrentRowGroups: 9,
          maxInFlightTasks: 99,
          requestAdmission: { cooldownSeconds: 7, queueWaitTimeoutSeconds: 1 }
        }
      })
      assert.strictEqual(tuned.hash, base.hash)
    }))

  it.effect("a change that changes the rows changes the identity, and is named", () =>
    Effect.gen(function*() {
      const base = yield* identityOf(valid)
      const cases: ReadonlyArray<readonly [unknown, string]> = [
        [{ ...valid, run: { rows: 7 } }, "run.rows changed (128 → 7)"],
        [{ ...valid, run: { bufferSize: 8 } }, "run.bufferSize changed (64 → 8)"],
        [{ ...valid, run: { seed: 1 } }, "run.seed changed (0 → 1)"],
        [
          {
            ...valid,
            columns: [valid.columns[0], valid.columns[1], { ...valid.columns[2], prompt: "Rate: {{ review }}" }]
          },
          "columns[2].prompt changed (\"Judge: {{ review }}\" → \"Rate: {{ review }}\")"
        ],
        [{ ...valid, columns: [valid.columns[0], valid.columns[1]] }, "columns[2] removed"],
        [{ ...valid, models: [{ ...valid.models[0], model: "other" }] }, "models[0].model changed"],
        [{ ...valid, models: [{ ...valid.models[0], temperature: 1 }] }, "models[0].temperature changed"],
        [{ ...valid, providers: [{ name: "local", type: "mock", mock: { seed: 8 } }] }, "providers[0].seed changed"]
      ]
      for (const [config, change] of cases) {
        const identity = yield* identityOf(config)
        assert.notStrictEqual(identity.hash, base.hash, change)
        assert.isTrue(dataChanges(base.fields, identity.fields).some((c) => c.startsWith(change)), change)
      }
    }))
})
