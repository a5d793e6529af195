import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { NodeServices } from "@effect/platform-node"
import { afterAll, assert, describe, it } from "@effect/vitest"
import { Effect, FileSystem, Layer, Path } from "effect"
import { type ChildProcess, spawn } from "node:child_process"
import * as Redis from "effect/persistence/Redis"
import { commitGroup, isCommitted } from "../../src/distributed/commitGroup.js"
import { runKeysOf } from "../../src/distributed/runKeys.js"
import { encodeNewGroup } from "../../src/output/groupFile.js"
import { redisClient, RedisServer, startRedisServer } from "../support/redisServer.js"
import { assertJournalVerifies, readRows, rowGroupFiles, summaryOf, writeConfig } from "./helpers.js"
import { cliPath, repoRoot, runCli, tempDir } from "./runCli.js"

// Distributed generation end to end: real `sluice generate --redis` coordinators and `sluice worker` processes on
// the embedded mock provider, one private redis-server per file (unix socket), and kill -9 of workers and of the
// coordinator mid-run. Every row must be on disk exactly once, and the output must verify on resume.

const groups = 48
const bufferSize = 4
const rows = groups * bufferSize

const config = {
  providers: [{ name: "local", type: "mock", mock: { latencyMs: { min: 40, max: 80 }, seed: 7 } }],
  models: [{ alias: "writer", provider: "local", model: "mock-writer", maxParallelRequests: 32 }],
  columns: [
    { name: "id", type: "uuid" },
    { name: "topic", type: "category", values: ["shoes", "tents", "lamps"] },
    { name: "review", type: "llm-text", model: "writer", prompt: "Review {{ topic }}." },
    { name: "tagline", type: "llm-text", model: "writer", prompt: "A tagline for: {{ review }}" }
  ],
  run: { rows, bufferSize, maxConcurrentRowGroups: 2 }
}

interface Spawned {
  readonly child: ChildProcess
  readonly stderr: () => string
  readonly exit: Effect.Effect<{ readonly code: number | null; readonly signal: NodeJS.Signals | null }>
}

/** A `sluice` process whose stderr is collected; killed with the scope. */
const start = (args: ReadonlyArray<string>) =>
  Effect.acquireRelease(
    Effect.sync((): Spawned => {
      const child = spawn(process.execPath, [cliPath, ...args], {
        cwd: repoRoot,
        stdio: ["ignore", "pipe", "pipe"]
      })
      let stderr = ""
      child.stderr!.on("data", (chunk: Buffer) => {
        stderr += chunk.toString()
      })
      child.stdout!.resume()
      const exit = Effect.callback<{ code: number | null; signal: NodeJS.Signals | null }>((resume) => {
        if (child.exitCode !== null || child.signalCode !== null) {
          return resume(Effect.succeed({ code: child.exitCode, signal: child.signalCode }))
        }
        child.once("exit", (code, signal) => resume(Effect.succeed({ code, signal })))
      })
      return { child, stderr: () => stderr, exit }
    }),
    ({ child }) => Effect.sync(() => child.kill("SIGKILL"))
  )

/** Polls `condition` every 20 ms (at most `timeoutMs`). */
const until = (condition: () => boolean, what: string, timeoutMs = 30_000) =>
  Effect.gen(function*() {
    for (let waited = 0; !condition(); waited += 20) {
      if (waited > timeoutMs) return yield* Effect.die(new Error(`timed out waiting for ${what}`))
      yield* Effect.sleep("20 millis")
    }
  })

const journaled = (out: string): number =>
  existsSync(join(out, "journal.jsonl"))
    ? readFileSync(join(out, "journal.jsonl"), "utf8").split("\n").filter((line) => line !== "").length - 1
    : 0

const attemptFiles = (out: string) =>
  existsSync(join(out, "data")) ? readdirSync(join(out, "data")).filter((name) => name.includes(".attempt-")) : []

// The single-process dataset of the same config: what every distributed run must match, file for file. Generated
// once for the file.
const referenceDir = mkdtempSync(join(tmpdir(), "sluice-reference-"))
afterAll(() => rmSync(referenceDir, { recursive: true, force: true }))
let referenceOut: string | undefined
const reference = (_dir: string, file: string) =>
  Effect.gen(function*() {
    if (referenceOut !== undefined) return referenceOut
    const out = join(referenceDir, "out")
    const result = yield* runCli(["generate", file, "--out", out, "--no-check", "--progress", "off"])
    assert.strictEqual(result.code, 0, result.stderr)
    return referenceOut = out
  })

/** Every row exactly once, every group's file what the single-process run wrote, and the journal verifies. */
const assertExactlyOnce = (out: string, expected: string) => {
  const ids = readRows(out).map((row) => row["id"])
  assert.strictEqual(ids.length, rows)
  assert.strictEqual(new Set(ids).size, rows, "a row is duplicated")
  assert.deepStrictEqual([...rowGroupFiles(out)].sort(), [...rowGroupFiles(expected)].sort())
  for (const file of rowGroupFiles(expected)) {
    assert.strictEqual(
      readFileSync(join(out, "data", file), "utf8"),
      readFileSync(join(expected, "data", file), "utf8"),
      file
    )
  }
  assert.strictEqual(assertJournalVerifies(out).size, groups)
  assert.deepStrictEqual(attemptFiles(out), [])
}

/** A single-process `--resume` finds every group verified and nothing to do. */
const assertVerifiesOnResume = (out: string, file: string) =>
  Effect.gen(function*() {
    const resumed = yield* runCli(["generate", file, "--out", out, "--resume", "--no-check", "--progress", "off"])
    assert.strictEqual(resumed.code, 0, resumed.stderr)
    assert.notInclude(resumed.stderr, "regenerating")
    assert.strictEqual(summaryOf(out).rowsCompleted, rows)
  })

const withRedis = <A, E>(f: (socket: string) => Effect.Effect<A, E, any>) =>
  Effect.gen(function*() {
    const server = yield* startRedisServer
    return yield* f(`unix://${server.socket}`)
  })

describe("distributed generate", () => {
  it.live(
    "4 workers, one killed with SIGKILL mid-run and restarted: every row exactly once, and it verifies on resume",
    () =>
      withRedis((redis) =>
        Effect.gen(function*() {
          const dir = yield* tempDir
          const file = writeConfig(dir, "config.json", config)
          const expected = yield* reference(dir, file)
          const out = join(dir, "out")
          const coordinator = yield* start([
            "generate",
            file,
            "--out",
            out,
            "--redis",
            redis,
            "--workers",
            "4",
            "--lease-seconds",
            "1.5",
            "--no-check",
            "--progress",
            "lines"
          ])
          yield* until(() => /started worker 4 \(pid (\d+)\)/.test(coordinator.stderr()), "worker 4")
          const pid = Number(/started worker 1 \(pid (\d+)\)/.exec(coordinator.stderr())![1])
          const runId = /run (\S+): \d+ row groups queued/.exec(coordinator.stderr())![1]!
          yield* until(() => journaled(out) >= 3, "3 journaled groups")
          assert.isBelow(journaled(out), groups, "the run ended before the kill")
          // The first committed group brings a progress line at once (then one every 5 s at most).
          const progress =
            /sluice: \[\d+s\] rows (\d+)\/(\d+) · [\d.]+ rows\/s · ETA \S+ · row groups (\d+)\/(\d+) · \d+ workers? alive/
          yield* until(() => progress.test(coordinator.stderr()), "a progress line")
          const [, done, total, committed, groupCount] = progress.exec(coordinator.stderr())!.map(Number)
          assert.deepStrictEqual([total, groupCount], [rows, groups])
          assert.isAtLeast(done!, rows / groups)
          assert.isAtLeast(committed!, 1)
          process.kill(pid, "SIGKILL")
          const restarted = yield* start(["worker", "--redis", redis, "--run", runId])
          const exit = yield* coordinator.exit
          assert.strictEqual(exit.code, 0, coordinator.stderr())
          assert.match(coordinator.stderr(), /worker 1 \(pid \d+\) exited with SIGKILL/)
          assert.strictEqual((yield* restarted.exit).code, 0, restarted.stderr())
          assertExactlyOnce(out, expected)
          const summary = summaryOf(out)
          assert.strictEqual(summary.status, "completed")
          assert.isAtLeast(summary.requests.succeeded, rows * 2)
          yield* assertVerifiesOnResume(out, file)
        })
      ),
    120_000
  )

  it.live(
    "a coordinator killed with SIGKILL is resumed: every row exactly once",
    () =>
      withRedis((redis) =>
        Effect.gen(function*() {
          const dir = yield* tempDir
          const file = writeConfig(dir, "config.json", config)
          const expected = yield* reference(dir, file)
          const out = join(dir, "out")
          const args = [
            "generate",
            file,
            "--out",
            out,
            "--redis",
            redis,
            "--workers",
            "2",
            "--lease-seconds",
            "1.5",
            "--no-check",
            "--progress",
            "off"
          ]
          const first = yield* start(args)
          yield* until(() => journaled(out) >= 4, "4 journaled groups")
          first.child.kill("SIGKILL")
          yield* first.exit
          assert.isBelow(journaled(out), groups, "the run ended before the kill")
          const resumed = yield* runCli([...args, "--resume"])
          assert.strictEqual(resumed.code, 0, resumed.stderr)
          assert.include(resumed.stderr, "no longer running")
          assertExactlyOnce(out, expected)
          yield* assertVerifiesOnResume(out, file)
        })
      ),
    120_000
  )

  it.live("Redis unreachable: a typed error at once, not a hang", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const file = writeConfig(dir, "config.json", config)
      const result = yield* runCli([
        "generate",
        file,
        "--out",
        join(dir, "out"),
        "--redis",
        `unix://${join(dir, "no-redis.sock")}`,
        "--no-check"
      ], { timeoutMs: 20_000 })
      assert.strictEqual(result.code, 2, result.stderr)
      assert.match(result.stderr, /--redis unix:\/\/.*: cannot connect/)
      const worker = yield* runCli(["worker", "--redis", "redis://127.0.0.1:1"], { timeoutMs: 20_000 })
      assert.strictEqual(worker.code, 2, worker.stderr)
      assert.match(worker.stderr, /--redis redis:\/\/127\.0\.0\.1:1: cannot connect/)
    }), 30_000)
})

describe("group commit", () => {
  const layer = Layer.mergeAll(redisClient, NodeServices.layer).pipe(Layer.provideMerge(RedisServer.layer))

  it.effect("a duplicate attempt of a committed group discards its own output and nothing else", () =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const path = yield* Path.Path
      const redis = yield* Redis.Redis
      const out = yield* fs.makeTempDirectoryScoped()
      yield* fs.makeDirectory(path.join(out, "data"))
      const keys = runKeysOf("test-run")
      const attempt = (review: string) =>
        encodeNewGroup({
          group: 3,
          rows: new Map([[0, { review }], [1, { review }]]),
          dropped: new Map()
        }, { size: 2, bufferSize: 2, format: "jsonl" })
      const first = attempt("first")
      assert.isFalse(yield* isCommitted(keys, 3))
      assert.strictEqual(yield* commitGroup({ out, keys, token: "a-1", encoded: first }), "committed")
      assert.isTrue(yield* isCommitted(keys, 3))
      assert.strictEqual(yield* commitGroup({ out, keys, token: "b-1", encoded: attempt("second") }), "discarded")
      // Only the winner's file is left, byte for byte, and one commit record names it.
      assert.deepStrictEqual(yield* fs.readDirectory(path.join(out, "data")), ["row-group-00003.jsonl.attempt-a-1"])
      const kept = yield* fs.readFile(path.join(out, "data", "row-group-00003.jsonl.attempt-a-1"))
      assert.deepStrictEqual(kept, first.bytes)
      const records = yield* redis.send<Array<string>>("LRANGE", keys.commits, "0", "-1")
      assert.strictEqual(records.length, 1)
      assert.include(records[0]!, "row-group-00003.jsonl.attempt-a-1")
    }).pipe(Effect.provide(layer)))
})
