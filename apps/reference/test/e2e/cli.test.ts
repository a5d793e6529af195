import { readdirSync, readFileSync, statSync } from "node:fs"
import { join } from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { broken } from "../fixtures/configs.js"
import {
  assertJournalVerifies,
  jsonLines,
  mockConfig,
  readRows,
  rowGroupFiles,
  summaryOf,
  writeConfig
} from "./helpers.js"
import { runCli, runMockInBackground, tempDir } from "./runCli.js"

describe("sluice generate (end to end, through the CLI process)", () => {
  it.live("the quickstart writes every row, a summary with zero leaks, and exits 0", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const out = join(dir, "quickstart")
      const run = yield* runCli(["generate", "examples/quickstart.yaml", "--rows", "64", "--out", out, "--json"])
      assert.strictEqual(run.code, 0, run.stderr)
      const summary = JSON.parse(run.stdout.trim().split("\n").at(-1) ?? "{}")
      assert.deepStrictEqual(summary, summaryOf(out))
      assert.strictEqual(summary.rowsCompleted, 64)
      assert.strictEqual(summary.rowsDropped, 0)
      assert.deepStrictEqual(summary.leaks, { taskLeases: 0, requestLeases: 0, requestWaiters: 0 })
      assert.strictEqual(summary.providers.local.served, summary.requests.succeeded)
      const rows = readRows(out)
      assert.strictEqual(rows.length, 64)
      const first = rows[0] ?? {}
      assert.deepStrictEqual(Object.keys(first), ["id", "product", "rating", "review", "summary", "verdict", "quality"])
      const metadata = JSON.parse(readFileSync(join(out, "metadata.json"), "utf8"))
      assert.strictEqual(metadata.rowsRequested, 64)
      assert.deepStrictEqual(metadata.completedRowGroups, [0])
    }), 60_000)

  it.live(
    "a provider whose real capacity (6) is far below the declared 16 loses no row, and 429s stay rare",
    () =>
      Effect.gen(function*() {
        const dir = yield* tempDir
        const config = writeConfig(dir, "hidden.json", mockConfig({ capacity: 6, retryAfterSeconds: 1 }, { rows: 96 }))
        const out = join(dir, "out")
        const run = yield* runCli(["generate", config, "--out", out, "--json"])
        assert.strictEqual(run.code, 0, run.stderr)
        const summary = summaryOf(out)
        assert.strictEqual(summary.rowsCompleted, 96)
        assert.strictEqual(summary.rowsDropped, 0)
        assert.strictEqual(summary.providers.local.maxConcurrent <= 6, true)
        assert.isAtMost(summary.requests.rateLimited / summary.requests.attempts, 0.1)
        assert.strictEqual(readRows(out).length, 96)
      }),
    90_000
  )

  it.live("10 % server errors: bounded retries, and every lost row's cause is recorded", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const config = writeConfig(
        dir,
        "errors.json",
        mockConfig({ capacity: 32, serverErrorRate: 0.1, seed: 3 }, { rows: 64 })
      )
      const out = join(dir, "out")
      const run = yield* runCli(["generate", config, "--out", out, "--json"])
      const summary = summaryOf(out)
      assert.isAbove(summary.requests.serverErrors, 0)
      assert.strictEqual(summary.rowsCompleted + summary.rowsDropped, 64)
      const causes = Object.values(summary.dropCauses as Record<string, number>).reduce((a, b) => a + b, 0)
      assert.strictEqual(causes, summary.rowsDropped)
      assert.strictEqual(readRows(out).length, summary.rowsCompleted)
      assert.strictEqual(summary.rowsMissing, 0)
      assert.strictEqual(jsonLines(join(out, "dropped.jsonl")).length, summary.rowsDropped)
      // rows lost to retryable causes make the exit code non-zero; none lost means 0
      assert.strictEqual(run.code, summary.rowsDropped === 0 ? 0 : 3, run.stderr)
      assert.deepStrictEqual(summary.leaks, { taskLeases: 0, requestLeases: 0, requestWaiters: 0 })
    }), 90_000)

  it.live(
    "SIGKILL at random moments, repeatedly, then --resume: every row exactly once, every journaled group verifies",
    () =>
      Effect.gen(function*() {
        const dir = yield* tempDir
        const config = writeConfig(
          dir,
          "resume.json",
          mockConfig({ capacity: 8, latencyMs: { min: 20, max: 40 } }, { rows: 160 }, 8)
        )
        const out = join(dir, "out")
        const dataDir = join(out, "data")
        const killed = yield* runCli(["generate", config, "--out", out], {
          killWhen: () => rowGroupFiles(out).length >= 2
        })
        assert.strictEqual(killed.signal, "SIGKILL")
        // The kill may fall between a file's rename and its journal line: files may outnumber journal entries.
        const journaledBefore = assertJournalVerifies(out).size
        const before = new Map(rowGroupFiles(out).map((file) => [file, statSync(join(dataDir, file)).mtimeMs]))
        assert.isAtMost(before.size, 8)

        // A changed row count is refused, naming it; the killed run's lock is reported stale and taken over.
        const refused = yield* runCli(["generate", config, "--out", out, "--resume", "--rows", "200"])
        assert.strictEqual(refused.code, 2)
        assert.include(refused.stderr, "--resume refused")
        assert.include(refused.stderr, "run.rows changed (160 → 200)")
        assert.include(refused.stderr, "no longer running")

        // Killed again at a random moment: once 1–4 more row groups are out (replay with SLUICE_E2E_KILL_AFTER).
        const more = Math.min(
          9 - before.size,
          Number(process.env["SLUICE_E2E_KILL_AFTER"] ?? 1 + Math.floor(Math.random() * 4))
        )
        const again = yield* runCli(["generate", config, "--out", out, "--resume"], {
          killWhen: () => rowGroupFiles(out).length >= before.size + more
        })
        const killedAt = `killed ${more} groups later (SLUICE_E2E_KILL_AFTER=${more})`
        const journal = assertJournalVerifies(out)
        const partial = readRows(out)
        assert.strictEqual(again.signal, "SIGKILL", killedAt)
        assert.strictEqual(new Set(partial.map((row) => row["id"])).size, partial.length, killedAt)
        assert.isBelow(partial.length, 160, killedAt)
        assert.isAtLeast(journal.size, journaledBefore)

        const resumed = yield* runCli(["generate", config, "--out", out, "--resume", "--json"])
        assert.strictEqual(resumed.code, 0, `${killedAt}: ${resumed.stderr}`)
        const rows = readRows(out)
        assert.strictEqual(rows.length, 160)
        assert.strictEqual(new Set(rows.map((row) => row["id"])).size, 160)
        assert.strictEqual(assertJournalVerifies(out).size, 10)
        for (const [file, mtime] of before) assert.strictEqual(statSync(join(dataDir, file)).mtimeMs, mtime, file)
        const summary = summaryOf(out)
        assert.strictEqual(summary.rowsCompleted, 160)
        assert.strictEqual(summary.status, "completed")
        assert.strictEqual(summary.attempt, 3)
        assert.deepStrictEqual(readdirSync(out).sort(), [
          "data",
          "dropped.jsonl",
          "journal.jsonl",
          "manifest.json",
          "metadata.json",
          "summary.json"
        ])
      }),
    120_000
  )

  it.live("the API key never appears in output, errors or files", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const secret = "sk-sluice-test-9f8e7d6c5b4a"
      const mock = yield* runMockInBackground
      const config = writeConfig(dir, "keyed.json", {
        providers: [{
          name: "remote",
          type: "openai-compatible",
          baseUrl: mock,
          apiKeyEnv: "SLUICE_TEST_KEY",
          timeoutSeconds: 5
        }],
        models: [{ alias: "writer", provider: "remote", model: "m", maxParallelRequests: 4 }],
        columns: [{ name: "a", type: "llm-text", model: "writer", prompt: "hello" }],
        run: { rows: 8, bufferSize: 4 }
      })
      const out = join(dir, "out")
      const run = yield* runCli(["generate", config, "--out", out, "--json"], { env: { SLUICE_TEST_KEY: secret } })
      assert.strictEqual(run.code, 0, run.stderr)
      const files = [
        ...readdirSync(out).filter((f) => f.endsWith(".json") || f.endsWith(".jsonl")).map((f) => join(out, f)),
        ...readdirSync(join(out, "data")).map((f) => join(out, "data", f))
      ]
      for (const text of [run.stdout, run.stderr, ...files.map((f) => readFileSync(f, "utf8"))]) {
        assert.notInclude(text, secret)
        assert.notInclude(text, "9f8e7d6c5b4a")
      }
      const missing = yield* runCli(["generate", config, "--out", out, "--overwrite"], {
        env: { SLUICE_TEST_KEY: "" }
      })
      assert.notStrictEqual(missing.code, 0)
    }), 60_000)
})

describe("sluice validate (through the CLI process)", () => {
  it.live(
    "prints the columns and, per model, who calls it, how much, and what bounds the run",
    () =>
      Effect.gen(function*() {
        const run = yield* runCli(["validate", "examples/quickstart.yaml"])
        assert.strictEqual(run.code, 0, run.stderr)
        assert.include(run.stdout, "examples/quickstart.yaml: valid")
        assert.include(run.stdout, "review (llm-text), needs product, rating → model writer")
        assert.include(run.stdout, "writer → mock-writer on local (embedded mock)")
        assert.include(run.stdout, "called by review, verdict: 2 calls per row, 512 calls for the run")
        assert.include(run.stdout, "Bound: writer at its cap — estimated duration")
        // No internal capacity-group names.
        assert.notInclude(run.stdout, "admittedLimit")
        assert.notInclude(run.stdout, "%2F")
      }),
    30_000
  )

  // resolveConfig.test.ts checks every broken config's line in-process; the CLI renders them all the same way, so
  // a spread of them (every fourth, through `validate` and `generate`) proves the one line and exit code 2.
  it.live("reports broken configs as one line naming the path, with exit code 2", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const sample = broken.filter((_, index) => index % 4 === 0)
      yield* Effect.forEach(sample, ([name, raw, expected], index) =>
        Effect.gen(function*() {
          const file = writeConfig(dir, `broken-${index}.json`, raw)
          const run = yield* runCli(
            index % 2 === 0 ? ["validate", file] : ["generate", file, "--out", join(dir, "out")]
          )
          assert.strictEqual(run.code, 2, `${name}: ${run.stderr}`)
          assert.strictEqual(run.stdout, "", name)
          const lines = run.stderr.trim().split("\n")
          assert.strictEqual(lines.length, 1, `${name}: ${run.stderr}`)
          assert.isTrue(lines[0]?.startsWith(`sluice: ${expected}`), `${name}: ${run.stderr}`)
        }), { concurrency: 2 })
    }), 90_000)
})
