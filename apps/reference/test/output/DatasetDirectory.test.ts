import { NodeServices } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { Effect, FileSystem } from "effect"
import { openDatasetDirectory } from "../../src/output/DatasetDirectory.js"

const plan = { configHash: "abc123", rowsRequested: 10, bufferSize: 4, resume: false }

describe("openDatasetDirectory", () => {
  it.effect("writes row groups as JSONL files and records them in metadata.json", () =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const dir = yield* fs.makeTempDirectoryScoped()
      const out = yield* openDatasetDirectory(dir, plan)
      yield* out.writeRowGroup(1, [{ id: "b" }])
      yield* out.writeRowGroup(0, [{ id: "a" }, { id: "c" }])
      assert.deepStrictEqual(yield* fs.readDirectory(`${dir}/data`).pipe(Effect.map((f) => f.sort())), [
        "row-group-00000.jsonl",
        "row-group-00001.jsonl"
      ])
      assert.strictEqual(
        yield* fs.readFileString(`${dir}/data/row-group-00000.jsonl`),
        "{\"id\":\"a\"}\n{\"id\":\"c\"}\n"
      )
      const metadata = JSON.parse(yield* fs.readFileString(`${dir}/metadata.json`))
      assert.deepStrictEqual(metadata, {
        configHash: "abc123",
        rowsRequested: 10,
        bufferSize: 4,
        completedRowGroups: [0, 1]
      })
    }).pipe(Effect.provide(NodeServices.layer)))

  it.effect("resume keeps written row groups and drops half-written temp files", () =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const dir = yield* fs.makeTempDirectoryScoped()
      const first = yield* openDatasetDirectory(dir, plan)
      yield* first.writeRowGroup(0, [{ id: "a" }])
      yield* fs.writeFileString(`${dir}/data/row-group-00001.jsonl.tmp-999`, "{\"id\":")
      const resumed = yield* openDatasetDirectory(dir, { ...plan, resume: true })
      assert.deepStrictEqual([...resumed.completedRowGroups], [0])
      assert.deepStrictEqual(yield* fs.readDirectory(`${dir}/data`), ["row-group-00000.jsonl"])
    }).pipe(Effect.provide(NodeServices.layer)))

  it.effect("a fresh run clears earlier data", () =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const dir = yield* fs.makeTempDirectoryScoped()
      const first = yield* openDatasetDirectory(dir, plan)
      yield* first.writeRowGroup(0, [{ id: "a" }])
      const fresh = yield* openDatasetDirectory(dir, plan)
      assert.strictEqual(fresh.completedRowGroups.size, 0)
      assert.deepStrictEqual(yield* fs.readDirectory(`${dir}/data`), [])
    }).pipe(Effect.provide(NodeServices.layer)))

  it.effect("resume refuses a changed config or a changed row count", () =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const dir = yield* fs.makeTempDirectoryScoped()
      yield* openDatasetDirectory(dir, plan)
      const changed = yield* openDatasetDirectory(dir, { ...plan, configHash: "def456", resume: true }).pipe(
        Effect.flip
      )
      assert.include(changed.message, "--resume refused: the config changed")
      const resized = yield* openDatasetDirectory(dir, { ...plan, rowsRequested: 20, resume: true }).pipe(Effect.flip)
      assert.include(resized.message, "started with 10 rows in groups of 4")
    }).pipe(Effect.provide(NodeServices.layer)))
})
