import { existsSync, readFileSync } from "node:fs"
import { join } from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { generate, type GenerateEvent, GenerateOptionsError, generatePromise } from "../../src/api/index.js"
import { mockConfig, readRows, writeConfig } from "../e2e/helpers.js"
import { tempDir } from "../e2e/runCli.js"

// The programmatic API on the embedded mock provider: the same pipeline as `sluice generate`, driven from code.

const config = mockConfig({ capacity: 8, seed: 5 }, { rows: 32, bufferSize: 8 }, 8)

const tagsOf = (events: ReadonlyArray<GenerateEvent>) => events.map((event) => event._tag)

describe("generate", () => {
  it.live("generates a dataset from a config object and reports events in order", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const out = join(dir, "out")
      const events: Array<GenerateEvent> = []
      const summary = yield* generate(config, { out, progressEveryMs: 5, onEvent: (event) => events.push(event) })

      assert.strictEqual(summary.status, "completed")
      assert.strictEqual(summary.rowsCompleted, 32)
      assert.strictEqual(readRows(out).length, 32)
      assert.deepStrictEqual(JSON.parse(readFileSync(join(out, "summary.json"), "utf8")), summary)

      const tags = tagsOf(events)
      assert.deepStrictEqual(tags.slice(0, 2), ["model_checked", "run_started"])
      assert.strictEqual(tags.at(-1), "run_finished")
      assert.deepStrictEqual(tags.slice(2, -1).filter((tag) => tag !== "progress"), [])
      const finished = events.at(-1)
      assert.deepStrictEqual(finished?._tag === "run_finished" ? finished.summary : undefined, summary)
      const started = events[1]
      assert.deepStrictEqual(started, { _tag: "run_started", out, rowsRequested: 32 })
      // The first sample is taken as the run starts.
      assert.include(tags, "progress")
      for (const event of events) {
        if (event._tag !== "progress") continue
        assert.isAtMost(event.rowsDone, event.rowsTotal)
        for (const load of event.providers) assert.strictEqual(load.provider, "local")
      }
    }).pipe(Effect.scoped))

  it.live("rows overrides the config; check: false skips the model check", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const events: Array<GenerateEvent> = []
      const summary = yield* generate(config, {
        out: join(dir, "out"),
        rows: 8,
        check: false,
        onEvent: (event) => events.push(event)
      })
      assert.strictEqual(summary.rowsRequested, 8)
      assert.strictEqual(summary.rowsCompleted, 8)
      assert.notInclude(tagsOf(events), "model_checked")
    }).pipe(Effect.scoped))

  it.live("refuses bad options with the field named, before touching the output directory", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const out = join(dir, "out")
      const rows = yield* Effect.flip(generate(config, { out, rows: 0 }))
      assert.instanceOf(rows, GenerateOptionsError)
      assert.strictEqual(rows._tag === "GenerateOptionsError" ? rows.field : "", "rows")
      const retry = yield* Effect.flip(generate(config, { out, retryDropped: true }))
      assert.strictEqual(retry._tag === "GenerateOptionsError" ? retry.field : "", "retryDropped")
      const missing = yield* Effect.flip(generate(config, { out: "" }))
      assert.strictEqual(missing._tag === "GenerateOptionsError" ? missing.field : "", "out")
      assert.isFalse(existsSync(out))
    }).pipe(Effect.scoped))

  it.live("a config problem is a ConfigError naming its path", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const error = yield* Effect.flip(
        generate({ ...config, run: { rows: 4, bufferSze: 2 } }, { out: join(dir, "out") })
      )
      assert.strictEqual(error._tag, "ConfigError")
      assert.include(error.message, "run.bufferSze")
    }).pipe(Effect.scoped))
})

describe("generatePromise", () => {
  it.live("reads a config file; mode decides what happens to an existing dataset", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const file = writeConfig(dir, "reviews.yaml", config)
      const out = join(dir, "out")
      const first = yield* Effect.promise(() => generatePromise(file, { out, rows: 8 }))
      assert.strictEqual(first.rowsCompleted, 8)

      const refused = yield* Effect.promise(() =>
        generatePromise(file, { out, rows: 8 }).then(() => undefined, (error: unknown) => error)
      )
      assert.strictEqual((refused as { _tag?: string } | undefined)?._tag, "OutputError")

      const replaced = yield* Effect.promise(() => generatePromise(file, { out, rows: 8, mode: "overwrite" }))
      assert.strictEqual(replaced.attempt, 1)
      const resumed = yield* Effect.promise(() => generatePromise(file, { out, rows: 8, mode: "resume" }))
      assert.strictEqual(resumed.attempt, 2)
      assert.strictEqual(resumed.rowsCompleted, 8)
    }).pipe(Effect.scoped))

  it.live("an aborted run resolves with its interrupted summary; resume finishes it", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const out = join(dir, "out")
      const slow = mockConfig({ capacity: 2, latencyMs: { min: 20, max: 20 }, seed: 1 }, { rows: 64, bufferSize: 8 }, 2)
      const controller = new AbortController()
      const summary = yield* Effect.promise(() =>
        generatePromise(slow, {
          out,
          signal: controller.signal,
          progressEveryMs: 10,
          onEvent: (event) => {
            if (event._tag === "progress" && event.rowsCheckpointed > 0) controller.abort()
          }
        })
      )
      assert.strictEqual(summary.status, "interrupted")
      assert.isBelow(summary.rowsCompleted, 64)
      assert.isAbove(summary.rowsCompleted, 0)
      const resumed = yield* Effect.promise(() => generatePromise(slow, { out, mode: "resume", check: false }))
      assert.strictEqual(resumed.status, "completed")
      assert.strictEqual(resumed.rowsCompleted, 64)
    }).pipe(Effect.scoped))
})
