import { NodeServices } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, FileSystem, Path, Scope } from "effect"
import { dataIdentityOf } from "../../src/output/dataIdentity.js"
import { makeGroupWriter } from "../../src/output/GroupWriter.js"
import { openOutput, type OutputMode } from "../../src/output/OutputDirectory.js"
import { resolveConfig } from "../fixtures/resolveConfig.js"
import { valid } from "../fixtures/configs.js"

const loaded = (run: Record<string, unknown> = {}, columns = valid.columns) =>
  resolveConfig("test.json", { ...valid, columns, run: { rows: 10, bufferSize: 4, ...run } }).pipe(Effect.orDie)

const requestOf = Effect.fnUntraced(
  function*(mode: OutputMode, run: Record<string, unknown> = {}, columns = valid.columns) {
    const config = yield* loaded(run, columns)
    return {
      mode,
      rowsRequested: config.config.run.rows,
      bufferSize: config.config.run.bufferSize,
      identity: dataIdentityOf(config.config),
      configHash: config.hash,
      configFile: "test.json",
      config: {},
      createdBy: "sluice test",
      columns: ["row"],
      events: false
    }
  }
)

/** Opens `dir`, publishes the given groups (rows by index), and closes it (releasing the lock). */
const writeDataset = (dir: string, mode: OutputMode, groups: ReadonlyArray<ReadonlyArray<number>>) =>
  Effect.scoped(Effect.gen(function*() {
    const opened = yield* openOutput(dir, yield* requestOf(mode))
    const writer = yield* makeGroupWriter(dir, opened.state, { metadata: { configHash: "c", dataIdentity: "d" } })
    for (const [group, indexes] of groups.entries()) {
      yield* writer.publish({
        group,
        rows: new Map(indexes.map((i) => [i, { row: group * 4 + i }])),
        dropped: new Map()
      })
    }
    yield* writer.drain
    yield* writer.finish
    return opened
  }))

const run = <A, E>(effect: Effect.Effect<A, E, FileSystem.FileSystem | Path.Path | Scope.Scope>) =>
  effect.pipe(Effect.provide(NodeServices.layer))

describe("openOutput", () => {
  it.effect("a new directory gets the manifest, an empty journal and drop list; the lock goes with the scope", () =>
    run(Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const dir = `${yield* fs.makeTempDirectoryScoped()}/new/out`
      yield* writeDataset(dir, "fresh", [[0, 1, 2, 3]])
      assert.deepStrictEqual((yield* fs.readDirectory(dir)).sort(), [
        "data",
        "dropped.jsonl",
        "journal.jsonl",
        "manifest.json",
        "metadata.json"
      ])
      const manifest = JSON.parse(yield* fs.readFileString(`${dir}/manifest.json`))
      assert.strictEqual(manifest.format, "sluice-dataset/1")
      assert.strictEqual(manifest.attempts, 1)
      assert.deepStrictEqual(manifest.data.run, { rows: 10, bufferSize: 4, seed: 0 })
    })))

  it.effect("a foreign non-empty directory is refused before anything is written", () =>
    run(Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const dir = yield* fs.makeTempDirectoryScoped()
      yield* fs.writeFileString(`${dir}/notes.txt`, "mine")
      for (const mode of ["fresh", "overwrite", "resume"] as const) {
        const error = yield* Effect.flip(Effect.scoped(openOutput(dir, yield* requestOf(mode))))
        assert.include(error.message, "is not a Sluice output")
      }
      assert.deepStrictEqual(yield* fs.readDirectory(dir), ["notes.txt"])
    })))

  it.effect("an existing dataset is refused without --overwrite; --overwrite removes only the dataset's files", () =>
    run(Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const dir = yield* fs.makeTempDirectoryScoped()
      yield* writeDataset(dir, "fresh", [[0, 1, 2, 3], [0, 1, 2, 3], [0, 1]])
      yield* fs.makeDirectory(`${dir}/data/notes`)
      yield* fs.writeFileString(`${dir}/data/notes/keep.txt`, "mine")
      yield* fs.writeFileString(`${dir}/data/keep.jsonl`, "mine")
      yield* fs.writeFileString(`${dir}/notes.txt`, "mine")
      // What a killed run leaves: a temp file and a published but unjournaled file of one of its groups.
      yield* fs.writeFileString(`${dir}/data/row-group-00002.jsonl.tmp-123`, "{")
      // Named like row groups, but not of this dataset (10 rows in 3 groups, JSONL): a user's files, kept.
      yield* fs.writeFileString(`${dir}/data/row-group-00007.jsonl.tmp-123`, "{")
      yield* fs.writeFileString(`${dir}/data/row-group-00099.jsonl`, "{}\n")
      yield* fs.writeFileString(`${dir}/data/row-group-00001.parquet`, "PAR1")
      // Not this dataset's event log.
      yield* fs.writeFileString(`${dir}/events.jsonl`, "{\"mine\":true}\n")

      const refused = yield* Effect.flip(Effect.scoped(openOutput(dir, yield* requestOf("fresh"))))
      assert.include(refused.message, "already holds a Sluice dataset")

      yield* writeDataset(dir, "overwrite", [[0, 1, 2, 3]])
      assert.deepStrictEqual((yield* fs.readDirectory(`${dir}/data`)).sort(), [
        "keep.jsonl",
        "notes",
        "row-group-00000.jsonl",
        "row-group-00001.parquet",
        "row-group-00007.jsonl.tmp-123",
        "row-group-00099.jsonl"
      ])
      assert.strictEqual(yield* fs.readFileString(`${dir}/events.jsonl`), "{\"mine\":true}\n")
      assert.strictEqual(yield* fs.readFileString(`${dir}/notes.txt`), "mine")
      assert.strictEqual(yield* fs.readFileString(`${dir}/data/notes/keep.txt`), "mine")
      const journal = (yield* fs.readFileString(`${dir}/journal.jsonl`)).trim().split("\n")
      assert.strictEqual(journal.length, 2)
    })))

  it.effect("a second open while the first holds the lock is refused, naming the holder", () =>
    run(Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const dir = yield* fs.makeTempDirectoryScoped()
      const scope = yield* Scope.make()
      yield* Scope.provide(openOutput(dir, yield* requestOf("fresh")), scope)
      const held = yield* Effect.flip(Effect.scoped(openOutput(dir, yield* requestOf("resume"))))
      assert.include(held.message, `in use by another sluice run (pid ${process.pid}`)
      yield* Scope.close(scope, Exit.void)
      assert.isFalse(yield* fs.exists(`${dir}/sluice.lock`))
      yield* Effect.scoped(openOutput(dir, yield* requestOf("resume")))
    })))

  /** A dataset whose lock names `holder` (on this host): a new `--resume` takes the lock over, as a stale one. */
  const takesOverLockOf = (holder: Record<string, unknown>) =>
    run(Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const dir = yield* fs.makeTempDirectoryScoped()
      yield* writeDataset(dir, "fresh", [[0, 1, 2, 3]])
      const { hostname } = yield* Effect.promise(() => import("node:os"))
      yield* fs.writeFileString(
        `${dir}/sluice.lock`,
        JSON.stringify({ host: hostname(), startedAt: "2026-01-01T00:00:00.000Z", ...holder })
      )
      const opened = yield* Effect.scoped(openOutput(dir, yield* requestOf("resume")))
      assert.strictEqual(opened.attempt, 2)
      assert.isFalse(yield* fs.exists(`${dir}/sluice.lock`))
    }))

  // Above the kernel's pid_max: no such process.
  it.effect("a lock left by a process that is gone is taken over", () => takesOverLockOf({ pid: 99_999_999 }))

  // This process's pid, but a start time it does not have: the run that held the lock is gone.
  it.effect.skipIf(process.platform !== "linux")(
    "a lock whose pid now belongs to another process is taken over",
    () => takesOverLockOf({ pid: process.pid, processStart: "1" })
  )

  it.effect("resume verifies every journaled group: truncated, missing and altered groups are to be regenerated", () =>
    run(Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const dir = yield* fs.makeTempDirectoryScoped()
      yield* writeDataset(dir, "fresh", [[0, 1, 2, 3], [0, 1, 2, 3], [0, 1]])
      const g1 = `${dir}/data/row-group-00001.jsonl`
      yield* fs.truncate(g1, 5)
      yield* fs.remove(`${dir}/data/row-group-00002.jsonl`)
      const opened = yield* Effect.scoped(openOutput(dir, yield* requestOf("resume")))
      assert.deepStrictEqual([...opened.state.published.keys()], [0])
      assert.strictEqual(opened.state.rowsOnDisk, 4)
      assert.strictEqual(opened.state.rowsMissing, 6)
    })))

  it.effect("resume adopts a complete unjournaled group, ignores an incomplete one, cuts a partial journal line", () =>
    run(Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const dir = yield* fs.makeTempDirectoryScoped()
      yield* writeDataset(dir, "fresh", [[0, 1, 2, 3]])
      yield* fs.writeFileString(
        `${dir}/data/row-group-00001.jsonl`,
        "{\"row\":4}\n{\"row\":5}\n{\"row\":6}\n{\"row\":7}\n"
      )
      yield* fs.writeFileString(`${dir}/data/row-group-00002.jsonl`, "{\"row\":8}\n")
      yield* fs.writeFileString(`${dir}/data/row-group-00001.jsonl.tmp-42`, "{")
      yield* fs.writeFileString(`${dir}/journal.jsonl`, "{\"group\":2,\"fi", { flag: "a" })
      const opened = yield* Effect.scoped(openOutput(dir, yield* requestOf("resume")))
      assert.deepStrictEqual([...opened.state.published.keys()].sort(), [0, 1])
      assert.isFalse(yield* fs.exists(`${dir}/data/row-group-00001.jsonl.tmp-42`))
      const lines = (yield* fs.readFileString(`${dir}/journal.jsonl`)).split("\n")
      assert.strictEqual(lines.at(-1), "")
      assert.strictEqual(lines.length, 4)
      assert.strictEqual(JSON.parse(lines[2]!).group, 1)
    })))

  it.effect("resume does not adopt an unjournaled file whose rows are not this dataset's", () =>
    run(Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const dir = yield* fs.makeTempDirectoryScoped()
      yield* writeDataset(dir, "fresh", [[0, 1, 2, 3]])
      yield* fs.writeFileString(`${dir}/data/row-group-00001.jsonl`, "{\"hello\":1}\n".repeat(4))
      // Fields out of the dataset's column order are not its rows either.
      const opened = yield* Effect.scoped(openOutput(dir, { ...(yield* requestOf("resume")), columns: ["row", "b"] }))
      assert.deepStrictEqual([...opened.state.published.keys()], [0])
      yield* fs.writeFileString(`${dir}/data/row-group-00001.jsonl`, "{\"b\":1,\"row\":4}\n".repeat(4))
      const again = yield* Effect.scoped(openOutput(dir, { ...(yield* requestOf("resume")), columns: ["row", "b"] }))
      assert.deepStrictEqual([...again.state.published.keys()], [0])
    })))

  it.effect("resume drops journal lines that do not add up and rewrites the journal to what it verified", () =>
    run(Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const dir = yield* fs.makeTempDirectoryScoped()
      yield* writeDataset(dir, "fresh", [[0, 1, 2, 3], [0, 1, 2, 3]])
      const journal = `${dir}/journal.jsonl`
      const lines = (yield* fs.readFileString(journal)).trimEnd().split("\n")
      const group1 = JSON.parse(lines[2]!)
      yield* fs.writeFileString(`${dir}/secret.jsonl`, "{\"row\":8}\n{\"row\":9}\n")
      yield* fs.writeFileString(
        journal,
        [
          lines[0],
          lines[1],
          JSON.stringify({ ...group1, rows: 5 }),
          "{garbage",
          JSON.stringify({ group: 2, file: "../secret.jsonl", rows: 2, bytes: 22, sha256: "x", dropped: [] }),
          JSON.stringify({ ...group1, group: 7, file: "data/row-group-00007.jsonl" })
        ].join("\n") + "\n"
      )
      const opened = yield* Effect.scoped(openOutput(dir, yield* requestOf("resume")))
      // Group 1's line does not add up, but its file is whole: adopted as an unjournaled file is.
      assert.deepStrictEqual([...opened.state.published.keys()].sort(), [0, 1])
      assert.strictEqual(opened.state.rowsMissing, 2)
      assert.deepStrictEqual((yield* fs.readFileString(journal)).trimEnd().split("\n"), lines)
    })))

  it.effect("run.events never appends to an events.jsonl that is not the dataset's own", () =>
    run(Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const dir = yield* fs.makeTempDirectoryScoped()
      yield* writeDataset(dir, "fresh", [[0, 1, 2, 3]])
      yield* fs.writeFileString(`${dir}/events.jsonl`, "{\"mine\":true}\n")
      const before = yield* snapshot(dir)
      for (const mode of ["resume", "overwrite"] as const) {
        const error = yield* Effect.flip(Effect.scoped(openOutput(dir, { ...(yield* requestOf(mode)), events: true })))
        assert.include(error.message, "events.jsonl: was not written by this dataset's runs")
        assert.strictEqual(yield* snapshot(dir), before)
      }
      // The dataset's own log is appended to (resume) and removed with the dataset (overwrite).
      const identity = (yield* requestOf("resume")).identity.hash
      yield* fs.writeFileString(
        `${dir}/events.jsonl`,
        JSON.stringify({ _tag: "x", runId: `${identity.slice(0, 12)}-1` }) + "\n"
      )
      yield* Effect.scoped(openOutput(dir, { ...(yield* requestOf("resume")), events: true }))
      yield* Effect.scoped(openOutput(dir, yield* requestOf("overwrite")))
      assert.isFalse(yield* fs.exists(`${dir}/events.jsonl`))
    })))

  it.effect("resume refuses a change to the data, naming it; a change to parallelism is accepted", () =>
    run(Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const dir = yield* fs.makeTempDirectoryScoped()
      yield* writeDataset(dir, "fresh", [[0, 1, 2, 3]])
      const columns = [valid.columns[0], { ...valid.columns[1], prompt: "Another {{ topic }}." }, valid.columns[2]]
      const changed = yield* Effect.flip(Effect.scoped(openOutput(dir, yield* requestOf("resume", {}, columns))))
      assert.include(changed.message, "--resume refused")
      assert.include(changed.message, "columns[1].prompt changed")
      const rows = yield* Effect.flip(Effect.scoped(openOutput(dir, yield* requestOf("resume", { rows: 12 }))))
      assert.include(rows.message, "run.rows changed (10 → 12)")
      yield* Effect.scoped(
        openOutput(dir, yield* requestOf("resume", { maxInFlightTasks: 7, maxConcurrentRowGroups: 1 }))
      )
    })))

  /** Every file under `dir` with its content: what a failed start must leave as it was. */
  const snapshot = (dir: string) =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      if (!(yield* fs.exists(dir))) return "absent"
      const files = (yield* fs.readDirectory(dir, { recursive: true })).sort()
      const contents: Array<string> = []
      for (const file of files) {
        const info = yield* fs.stat(`${dir}/${file}`)
        contents.push(info.type === "File" ? `${file}: ${yield* fs.readFileString(`${dir}/${file}`)}` : `${file}/`)
      }
      return contents.join("\n")
    })

  it.effect("a failed check leaves the directory as it found it, in every mode; nothing is created or removed", () =>
    run(Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const base = yield* fs.makeTempDirectoryScoped()
      const failing = Effect.fail("the models did not answer" as const)
      // A directory that does not exist yet is not created.
      const absent = `${base}/new/out`
      assert.strictEqual(
        yield* Effect.flip(Effect.scoped(openOutput(absent, yield* requestOf("fresh"), failing))),
        "the models did not answer"
      )
      assert.strictEqual(yield* snapshot(absent), "absent")
      // An existing dataset survives a failed --overwrite and a failed --resume, byte for byte.
      const dir = `${base}/dataset`
      yield* writeDataset(dir, "fresh", [[0, 1, 2, 3]])
      const before = yield* snapshot(dir)
      for (const mode of ["overwrite", "resume"] as const) {
        assert.strictEqual(
          yield* Effect.flip(Effect.scoped(openOutput(dir, yield* requestOf(mode), failing))),
          "the models did not answer"
        )
        assert.strictEqual(yield* snapshot(dir), before, mode)
      }
      // A passing check goes on as before.
      yield* Effect.scoped(openOutput(dir, yield* requestOf("resume"), Effect.void))
    })))

  it.effect("a new run into an existing dataset is refused before the check runs", () =>
    run(Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const dir = yield* fs.makeTempDirectoryScoped()
      yield* writeDataset(dir, "fresh", [[0, 1, 2, 3]])
      let checked = false
      const check = Effect.sync(() => {
        checked = true
      })
      const refused = yield* Effect.flip(Effect.scoped(openOutput(dir, yield* requestOf("fresh"), check)))
      assert.include(String(refused), "already holds a Sluice dataset")
      assert.isFalse(checked)
    })))
})
