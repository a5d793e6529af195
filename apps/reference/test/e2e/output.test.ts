import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  truncateSync,
  writeFileSync
} from "node:fs"
import { join } from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { createServer, type Server } from "node:http"
import type { AddressInfo } from "node:net"
import { Deferred, Effect, Fiber } from "effect"
import {
  assertJournalVerifies,
  flakyConfig,
  jsonLines,
  jsonSummaryOf,
  mockConfig,
  readRows,
  rowGroupFiles,
  summaryOf,
  writeConfig
} from "./helpers.js"
import { closedPort } from "../support/hostileServer.js"
import { runCli, tempDir } from "./runCli.js"

// The output directory through the real CLI: Sluice writes only where it may, never loses or misreports a row.

const plant = (file: string, text = "mine\n") => {
  mkdirSync(join(file, ".."), { recursive: true })
  writeFileSync(file, text)
}

/**
 * An OpenAI-compatible provider whose answers wait for `open`: a run against it holds its lock until the test
 * lets it finish. `firstRequest` completes when the first request arrives.
 */
interface Gate {
  readonly url: string
  readonly server: Server
  readonly arrived: Deferred.Deferred<void>
  readonly opened: Deferred.Deferred<void>
}

const gatedProvider = Effect.acquireRelease(
  Effect.callback<Gate>((resume) => {
    const opened = Deferred.makeUnsafe<void>()
    const arrived = Deferred.makeUnsafe<void>()
    const server = createServer((request, response) => {
      Deferred.doneUnsafe(arrived, Effect.void)
      request.resume()
      const answer = () => {
        response.writeHead(200, { "content-type": "application/json" })
        response.end(JSON.stringify({
          choices: [{ index: 0, message: { role: "assistant", content: "ok" }, finish_reason: "stop" }]
        }))
      }
      Effect.runFork(Effect.andThen(Deferred.await(opened), Effect.sync(answer)))
    })
    server.listen(0, "127.0.0.1", () => {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
      resume(Effect.succeed({ url, server, arrived, opened }))
    })
  }),
  ({ opened, server }) =>
    Effect.sync(() => {
      Deferred.doneUnsafe(opened, Effect.void)
      server.close()
    })
).pipe(Effect.map((gate) => ({
  url: gate.url,
  firstRequest: Deferred.await(gate.arrived),
  open: Deferred.succeed(gate.opened, undefined)
})))

const fastConfig = (rows: number) => mockConfig({ capacity: 32, latencyMs: { min: 2, max: 6 } }, { rows })

describe("sluice generate: the output directory is Sluice's own", () => {
  it.live(
    "a non-empty directory that is not a Sluice output is refused with exit 2, and nothing in it changes",
    () =>
      Effect.gen(function*() {
        const dir = yield* tempDir
        const out = join(dir, "d")
        plant(join(out, "data", "notes", "keep.txt"))
        for (const extra of [[], ["--overwrite"], ["--resume"]]) {
          const run = yield* runCli(["generate", "examples/quickstart.yaml", "--rows", "4", "--out", out, ...extra])
          assert.strictEqual(run.code, 2, `${extra.join(" ")}: ${run.stderr}`)
          assert.strictEqual(run.stderr.trim().split("\n").length, 1, run.stderr)
          assert.include(run.stderr, out)
          assert.include(run.stderr, "not a Sluice output")
        }
        assert.deepStrictEqual(readdirSync(out), ["data"])
        assert.deepStrictEqual(readdirSync(join(out, "data")), ["notes"])
        assert.strictEqual(readFileSync(join(out, "data", "notes", "keep.txt"), "utf8"), "mine\n")
      }),
    60_000
  )

  it.live(
    "running twice is refused (exit 2); --overwrite replaces only the files Sluice wrote",
    () =>
      Effect.gen(function*() {
        const dir = yield* tempDir
        const config = writeConfig(dir, "fast.json", fastConfig(40))
        const out = join(dir, "out")
        const first = yield* runCli(["generate", config, "--out", out])
        assert.strictEqual(first.code, 0, first.stderr)
        const firstRows = readRows(out)
        // The user keeps notes beside the dataset.
        plant(join(out, "data", "notes", "keep.txt"))
        plant(join(out, "README.txt"))

        const again = yield* runCli(["generate", config, "--out", out])
        assert.strictEqual(again.code, 2, again.stderr)
        assert.include(again.stderr, "already holds a Sluice dataset")
        assert.include(again.stderr, "--overwrite")
        assert.deepStrictEqual(readRows(out), firstRows)

        const overwritten = yield* runCli(["generate", config, "--out", out, "--overwrite", "--rows", "20", "--json"])
        assert.strictEqual(overwritten.code, 0, overwritten.stderr)
        assert.include(overwritten.stderr, "--overwrite: removed")
        assert.strictEqual(readRows(out).length, 20)
        assert.strictEqual(readFileSync(join(out, "data", "notes", "keep.txt"), "utf8"), "mine\n")
        assert.strictEqual(readFileSync(join(out, "README.txt"), "utf8"), "mine\n")
        const journal = assertJournalVerifies(out)
        assert.deepStrictEqual([...journal.keys()].sort(), [0, 1])
        assert.deepStrictEqual([...rowGroupFiles(out)].sort(), ["row-group-00000.jsonl", "row-group-00001.jsonl"])
        assert.strictEqual(jsonSummaryOf(overwritten.stdout).attempt, 1)
        assert.isFalse(existsSync(join(out, "sluice.lock")))
      }),
    60_000
  )

  it.live(
    "a run whose model check fails leaves --out as it was: nothing created, an --overwrite keeps the dataset",
    () =>
      Effect.gen(function*() {
        const dir = yield* tempDir
        // A provider nobody listens on: the check fails at once (connection refused).
        const port = yield* closedPort
        const dead = writeConfig(dir, "dead.json", {
          ...fastConfig(20),
          providers: [{ name: "local", type: "openai-compatible", baseUrl: `http://127.0.0.1:${port}/v1` }]
        })
        const fresh = join(dir, "new", "out")
        const refused = yield* runCli(["generate", dead, "--out", fresh])
        assert.notStrictEqual(refused.code, 0, refused.stderr)
        assert.include(refused.stderr, "did not answer the check")
        assert.isFalse(existsSync(join(dir, "new")), "the directories the run would have used are not left behind")

        const out = join(dir, "out")
        const first = yield* runCli(["generate", writeConfig(dir, "fast.json", fastConfig(20)), "--out", out])
        assert.strictEqual(first.code, 0, first.stderr)
        const snapshot = () =>
          readdirSync(out, { recursive: true, encoding: "utf8" }).sort().map((name) => {
            const file = join(out, name)
            return statSync(file).isFile() ? `${name}: ${readFileSync(file, "utf8")}` : `${name}/`
          })
        const before = snapshot()
        for (const flag of ["--overwrite", "--resume"]) {
          const failed = yield* runCli(["generate", dead, "--out", out, flag])
          assert.notStrictEqual(failed.code, 0, failed.stderr)
          assert.include(failed.stderr, "did not answer the check")
          assert.deepStrictEqual(snapshot(), before, flag)
        }
      }),
    60_000
  )

  it.live("--resume refuses what it cannot resume (exit 2) and deletes nothing", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const config = writeConfig(dir, "fast.json", fastConfig(20))
      const missing = yield* runCli(["generate", config, "--out", join(dir, "nowhere"), "--resume"])
      assert.strictEqual(missing.code, 2, missing.stderr)
      assert.isFalse(existsSync(join(dir, "nowhere")))

      const out = join(dir, "out")
      assert.strictEqual((yield* runCli(["generate", config, "--out", out])).code, 0)
      rmSync(join(out, "journal.jsonl"))
      const noJournal = yield* runCli(["generate", config, "--out", out, "--resume"])
      assert.strictEqual(noJournal.code, 2, noJournal.stderr)
      assert.include(noJournal.stderr, "no checkpoint journal")
      assert.strictEqual(readRows(out).length, 20)
    }), 60_000)

  it.live(
    "a second run on the same --out exits 2 at once naming the holder; the first run's dataset is complete",
    () =>
      Effect.gen(function*() {
        const dir = yield* tempDir
        // The first run's provider answers only once the test lets it: the run holds its lock until then.
        const gate = yield* gatedProvider
        const config = writeConfig(dir, "gated.json", {
          providers: [{ name: "gated", type: "openai-compatible", baseUrl: `${gate.url}/v1` }],
          models: [{ alias: "writer", provider: "gated", model: "m", maxParallelRequests: 8 }],
          columns: [{ name: "id", type: "uuid" }, { name: "text", type: "llm-text", model: "writer", prompt: "hi" }],
          run: { rows: 32, bufferSize: 8 }
        })
        const out = join(dir, "out")
        const first = yield* Effect.forkChild(runCli(["generate", config, "--out", out, "--json"]), {
          startImmediately: true
        })
        yield* gate.firstRequest
        const holder = JSON.parse(readFileSync(join(out, "sluice.lock"), "utf8"))
        const [resume, overwrite] = yield* Effect.all([
          runCli(["generate", config, "--out", out, "--resume"]),
          runCli(["generate", config, "--out", out, "--overwrite"])
        ], { concurrency: 2 })
        for (const refused of [resume, overwrite]) {
          assert.strictEqual(refused.code, 2, refused.stderr)
          assert.strictEqual(refused.stderr.trim().split("\n").length, 1, refused.stderr)
          assert.include(refused.stderr, `in use by another sluice run (pid ${holder.pid} on host ${holder.host}`)
        }
        yield* gate.open

        const done = yield* Fiber.join(first)
        assert.strictEqual(done.code, 0, done.stderr)
        const summary = jsonSummaryOf(done.stdout)
        assert.strictEqual(summary.rowsCompleted, 32)
        const rows = readRows(out)
        assert.strictEqual(rows.length, 32)
        assert.strictEqual(new Set(rows.map((row) => row["id"])).size, 32)
        assert.strictEqual(assertJournalVerifies(out).size, 4)
        assert.isFalse(existsSync(join(out, "sluice.lock")))
      }),
    90_000
  )

  it.live(
    "a truncated or missing row group is regenerated on resume; a changed prompt is refused, naming it",
    () =>
      Effect.gen(function*() {
        const dir = yield* tempDir
        const config = writeConfig(dir, "fast.json", fastConfig(64))
        const out = join(dir, "out")
        assert.strictEqual((yield* runCli(["generate", config, "--out", out])).code, 0)
        const original = readRows(out)
        const damaged = join(out, "data", "row-group-00001.jsonl")
        truncateSync(damaged, Math.floor(statSync(damaged).size / 2))
        rmSync(join(out, "data", "row-group-00002.jsonl"))
        const untouched = statSync(join(out, "data", "row-group-00000.jsonl")).mtimeMs

        const fast = mockConfig({ capacity: 32, latencyMs: { min: 2, max: 6 } }, { rows: 64 })
        const changed = {
          ...fast,
          columns: fast.columns.map((column) =>
            column.name === "review" ? { ...column, prompt: "Critique {{ topic }}." } : column
          )
        }
        const refused = yield* runCli(["generate", writeConfig(dir, "changed.json", changed), "--out", out, "--resume"])
        assert.strictEqual(refused.code, 2, refused.stderr)
        assert.include(refused.stderr, "columns[2].prompt changed")

        // Not data: parallelism, timeouts, the mock's capacity. Accepted.
        const tuned = mockConfig({ capacity: 16, latencyMs: { min: 2, max: 6 } }, { rows: 64, maxInFlightTasks: 64 }, 4)
        const resumed = yield* runCli(["generate", writeConfig(dir, "tuned.json", tuned), "--out", out, "--resume"])
        assert.strictEqual(resumed.code, 0, resumed.stderr)
        assert.match(resumed.stderr, /row group 1 \(data\/row-group-00001\.jsonl\) is truncated .*; regenerating it/)
        assert.match(resumed.stderr, /row group 2 \(data\/row-group-00002\.jsonl\) is missing; regenerating it/)
        assert.deepStrictEqual(readRows(out), original)
        assert.strictEqual(statSync(join(out, "data", "row-group-00000.jsonl")).mtimeMs, untouched)
        assert.strictEqual(assertJournalVerifies(out).size, 4)
        assert.strictEqual(summaryOf(out).rowsCompleted, 64)
      }),
    90_000
  )
})

describe("sluice generate: counts are what is on disk, across attempts", () => {
  it.live(
    "drops are kept across --resume (exit 3 naming the cause), and --retry-dropped recovers them",
    () =>
      Effect.gen(function*() {
        const dir = yield* tempDir
        const flaky = writeConfig(dir, "flaky.json", flakyConfig(0.5))
        const out = join(dir, "out")
        const first = yield* runCli(["generate", flaky, "--out", out, "--json", "--no-check"])
        const summary = jsonSummaryOf(first.stdout)
        assert.isAbove(summary.rowsDropped, 0, "the flaky provider dropped no row")
        assert.isAbove(summary.rowsCompleted, 0)
        assert.strictEqual(first.code, 3, first.stderr)
        assert.match(
          first.stderr,
          new RegExp(`${summary.rowsDropped} rows dropped: timeout ${summary.rowsDropped} \\("`)
        )
        assert.include(first.stderr, "--resume --retry-dropped")
        assert.strictEqual(summary.status, "completed_with_drops")
        assert.strictEqual(summary.rowsCompleted + summary.rowsDropped, 48)
        assert.strictEqual(summary.rowsMissing, 0)
        assert.deepStrictEqual(summary.dropCauses, { timeout: summary.rowsDropped })
        assert.match(summary.dropMessages.timeout[0], /timed out/)
        assert.strictEqual(readRows(out).length, summary.rowsCompleted)
        const dropped = jsonLines(join(out, "dropped.jsonl"))
        assert.strictEqual(dropped.length, summary.rowsDropped)
        for (const record of dropped) {
          assert.strictEqual(record["kind"], "timeout")
          assert.strictEqual(record["column"], "review")
          assert.strictEqual(record["attempts"], 3)
          assert.strictEqual(record["group"], Math.floor((record["row"] as number) / 16))
        }

        // A plain resume has nothing to generate: the drops stay drops, not completed rows.
        const resumed = yield* runCli(["generate", flaky, "--out", out, "--resume", "--json", "--no-check"])
        assert.strictEqual(resumed.code, 3, resumed.stderr)
        const again = jsonSummaryOf(resumed.stdout)
        assert.strictEqual(again.rowsCompleted, summary.rowsCompleted)
        assert.strictEqual(again.rowsDropped, summary.rowsDropped)
        assert.strictEqual(again.attempt, 2)
        assert.strictEqual(readRows(out).length, summary.rowsCompleted)

        // The provider is healthy again (not a data change): the dropped rows are generated in place. With the event
        // log on, since the retried rows run packed into row groups of their own.
        const droppedRows = dropped.map((record) => record["row"] as number).sort((a, b) => a - b)
        const healthy = writeConfig(dir, "healthy.json", flakyConfig(0))
        const healthyWithEvents = writeConfig(dir, "healthy-events.json", {
          ...flakyConfig(0),
          run: { ...flakyConfig(0).run, events: true }
        })
        const retried = yield* runCli([
          "generate",
          healthyWithEvents,
          "--out",
          out,
          "--resume",
          "--retry-dropped",
          "--json"
        ])
        assert.strictEqual(retried.code, 0, retried.stderr)
        const final = jsonSummaryOf(retried.stdout)
        assert.strictEqual(final.status, "completed")
        assert.strictEqual(final.rowsCompleted, 48)
        assert.strictEqual(final.rowsDropped, 0)
        assert.deepStrictEqual(final.dropCauses, {})
        assert.strictEqual(final.requests.succeeded, summary.rowsDropped)
        assert.deepStrictEqual(jsonLines(join(out, "dropped.jsonl")), [])
        assertJournalVerifies(out)

        // The events name every row by its dataset row, as a run without --retry-dropped would: the plan maps the
        // run's packed rows to dataset rows, and each attempt joins its task by task id, which names its dataset row.
        const events = jsonLines(join(out, "events.jsonl"))
        const planned = events.filter((e) => e["_tag"] === "rows_planned")
        assert.strictEqual(planned.length, 1)
        const ranges = planned[0]!["datasetRows"] as Array<[number, number]>
        const runRows = ranges.flatMap(([start, end]) => Array.from({ length: end - start }, (_, i) => start + i))
        assert.deepStrictEqual(runRows, droppedRows)
        const completedTasks = new Map(
          events.filter((e) => e["_tag"] === "task_completed").map((e) => [e["taskId"], e] as const)
        )
        const attempts = events.filter((e) => e["_tag"] === "model_attempt_completed")
        assert.strictEqual(attempts.length, droppedRows.length)
        for (const attempt of attempts) {
          const row = attempt["row"] as number
          assert.include(droppedRows, row)
          assert.strictEqual(attempt["rowGroup"], Math.floor(row / 16))
          assert.strictEqual(attempt["taskId"], `cell:${Math.floor(row / 16)}:${row % 16}:review`)
          const task = completedTasks.get(attempt["taskId"])
          assert.isDefined(task, String(attempt["taskId"]))
          const [, runGroup, runIndex] = String(task!["runTaskId"]).split(":")
          assert.strictEqual(runRows[Number(runGroup) * 16 + Number(runIndex)], row)
        }
        const checkpointed = events.filter((e) => e["_tag"] === "row_group_checkpointed")
        assert.strictEqual(checkpointed.length, Math.ceil(droppedRows.length / 16))

        // Exactly the dataset a healthy run writes in one go: same rows, same order.
        const reference = join(dir, "reference")
        assert.strictEqual((yield* runCli(["generate", healthy, "--out", reference])).code, 0)
        assert.deepStrictEqual(readRows(out), readRows(reference))
      }),
    120_000
  )
})
