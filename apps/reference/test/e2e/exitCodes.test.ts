import { existsSync, readFileSync } from "node:fs"
import { join } from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { startScriptedServer } from "../client/scriptedServer.js"
import {
  assertJournalVerifies,
  jsonLines,
  jsonSummaryOf,
  mockConfig,
  readRows,
  rowGroupFiles,
  summaryOf,
  writeConfig
} from "./helpers.js"
import { runCli, tempDir } from "./runCli.js"

// Exit codes mean one thing each: 0 every row on disk, 2 usage/config/output-directory errors, 3 finished with
// dropped rows, 4 stopped early or wrote nothing, 130 interrupted, 1 a bug. (3 is covered in output.test.ts.)

describe("sluice generate: exit codes", () => {
  it.live("a flag that does not parse is one line naming it, no help, exit 2", () =>
    Effect.gen(function*() {
      const run = yield* runCli(["generate", "examples/quickstart.yaml", "--rows", "abc"])
      assert.strictEqual(run.code, 2, run.stderr)
      assert.strictEqual(run.stdout, "")
      const lines = run.stderr.trim().split("\n")
      assert.strictEqual(lines.length, 1, run.stderr)
      assert.match(lines[0]!, /^sluice: .*--rows.*"abc"/)
      const both = yield* runCli(["generate", "examples/quickstart.yaml", "--resume", "--overwrite"])
      assert.strictEqual(both.code, 2, both.stderr)
      assert.strictEqual(both.stderr.trim(), "sluice: --resume and --overwrite cannot be used together")
    }), 30_000)

  it.live(
    "a provider that rejects every call: exit 4 naming the cause and the provider's words, key redacted",
    () =>
      Effect.gen(function*() {
        const dir = yield* tempDir
        const server = yield* startScriptedServer
        const secret = "sk-sluice-test-0a1b2c3d4e5f"
        const configOf = (rows: number) => ({
          providers: [{
            name: "remote",
            type: "openai-compatible",
            baseUrl: `${server.origin}/echo-auth/v1`,
            apiKeyEnv: "SLUICE_TEST_KEY",
            timeoutSeconds: 5
          }],
          models: [{ alias: "writer", provider: "remote", model: "m", maxParallelRequests: 4 }],
          columns: [{ name: "id", type: "uuid" }, { name: "a", type: "llm-text", model: "writer", prompt: "hello" }],
          run: { rows, bufferSize: 4 }
        })
        const env = { SLUICE_TEST_KEY: secret }

        // 4 rows: the first rejected key stops the run (its row dropped as `authentication`, the rest with it), nothing
        // written.
        const small = join(dir, "small")
        const nothing = yield* runCli([
          "generate",
          writeConfig(dir, "small.json", configOf(4)),
          "--out",
          small,
          "--json",
          "--no-check"
        ], {
          env
        })
        assert.strictEqual(nothing.code, 4, nothing.stderr)
        const line = nothing.stderr.trim().split("\n").at(-1) ?? ""
        assert.match(
          line,
          /^sluice: the run stopped early \(stop_on_kind authentication: .*Incorrect API key provided.*\); 4 rows dropped: /
        )
        assert.include(line, "--resume --retry-dropped")
        const summary = jsonSummaryOf(nothing.stdout)
        assert.strictEqual(summary.rowsCompleted, 0)
        assert.deepStrictEqual(summary.dropCauses, { authentication: 1, early_shutdown: 3 })
        assert.strictEqual(summary.status, "stopped")
        assert.match(summary.dropMessages.authentication[0], /^Incorrect API key provided/)
        assert.strictEqual(jsonLines(join(small, "dropped.jsonl")).length, 4)

        // 40 rows: the run stops early instead of calling a provider that refuses every key.
        const large = join(dir, "large")
        const stopped = yield* runCli([
          "generate",
          writeConfig(dir, "large.json", configOf(40)),
          "--out",
          large,
          "--no-check"
        ], {
          env
        })
        assert.strictEqual(stopped.code, 4, stopped.stderr)
        assert.match(stopped.stderr, /sluice: the run stopped early \(.*authentication \d+ \("Incorrect API key/)
        const stoppedSummary = summaryOf(large)
        assert.strictEqual(stoppedSummary.status, "stopped")
        assert.isAbove(stoppedSummary.rowsMissing + stoppedSummary.rowsDropped, 0)
        assert.strictEqual(
          stoppedSummary.rowsCompleted + stoppedSummary.rowsDropped + stoppedSummary.rowsMissing,
          40
        )

        for (const out of [small, large]) {
          const files = [
            ...["summary.json", "dropped.jsonl", "manifest.json", "journal.jsonl"].map((f) => join(out, f)),
            ...rowGroupFiles(out).map((f) => join(out, "data", f))
          ]
          for (
            const text of [
              nothing.stdout,
              nothing.stderr,
              stopped.stderr,
              ...files.map((f) => readFileSync(f, "utf8"))
            ]
          ) {
            assert.notInclude(text, secret)
            assert.notInclude(text, "0a1b2c3d4e5f")
          }
        }
      }),
    60_000
  )

  it.live(
    "SIGINT: exit 130, summary.json says interrupted, and the printed resume command finishes the dataset",
    () =>
      Effect.gen(function*() {
        const dir = yield* tempDir
        const config = writeConfig(
          dir,
          "slow.json",
          mockConfig({ capacity: 8, latencyMs: { min: 20, max: 40 } }, {
            rows: 160
          }, 8)
        )
        const out = join(dir, "out")
        const interrupted = yield* runCli(["generate", config, "--out", out, "--rows", "400"], {
          killWhen: () => rowGroupFiles(out).length >= 1,
          killSignal: "SIGINT"
        })
        assert.strictEqual(interrupted.code, 130, interrupted.stderr)
        const summary = summaryOf(out)
        assert.strictEqual(summary.status, "interrupted")
        assert.strictEqual(summary.rowsRequested, 400)
        assert.isAbove(summary.rowsCompleted, 0)
        assert.strictEqual(summary.rowsCompleted, readRows(out).length)
        assert.strictEqual(summary.rowsCompleted + summary.rowsMissing, 400)
        assertJournalVerifies(out)
        assert.isFalse(existsSync(join(out, "sluice.lock")))
        const command = /To continue: (sluice generate .*)$/m.exec(interrupted.stderr)?.[1]
        assert.strictEqual(command, `sluice generate ${config} --out ${out} --rows 400 --resume`)

        const resumed = yield* runCli(command!.split(" ").slice(1))
        assert.strictEqual(resumed.code, 0, resumed.stderr)
        const rows = readRows(out)
        assert.strictEqual(rows.length, 400)
        assert.strictEqual(new Set(rows.map((row) => row["id"])).size, 400)
        assert.strictEqual(summaryOf(out).status, "completed")
      }),
    60_000
  )
})
