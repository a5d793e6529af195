import { createHash } from "node:crypto"
import { NodeServices } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { Effect, FileSystem } from "effect"
import { DatasetState } from "../../src/output/DatasetState.js"
import type { DropRecord } from "../../src/output/dropped.js"
import { makeGroupWriter } from "../../src/output/GroupWriter.js"
import { journalHeaderLine } from "../../src/output/journal.js"
import { decodeParquet } from "../../src/output/parquetRows.js"

const drop = (row: number, kind = "timeout"): DropRecord => ({ row, group: Math.floor(row / 4), kind, message: kind })

const setUpWith = (format: "jsonl" | "parquet") =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const dir = yield* fs.makeTempDirectoryScoped()
    yield* fs.makeDirectory(`${dir}/data`)
    yield* fs.writeFileString(`${dir}/journal.jsonl`, journalHeaderLine)
    const state = new DatasetState(10, 4)
    const writer = yield* makeGroupWriter(dir, state, { metadata: { configHash: "c", dataIdentity: "d" }, format })
    const lines = (file: string) =>
      Effect.map(fs.readFileString(`${dir}/${file}`), (text) => text.split("\n").filter((line) => line !== ""))
    return { fs, dir, state, writer, lines }
  })
const setUp = setUpWith("jsonl")

describe("makeGroupWriter", () => {
  it.effect("publishes each group as a file, then one journal line with its size, sha256 and dropped rows", () =>
    Effect.gen(function*() {
      const { fs, dir, state, writer, lines } = yield* setUp
      yield* writer.publish({ group: 1, rows: new Map([[0, { a: 4 }], [2, { a: 6 }]]), dropped: new Map() })
      yield* writer.publish({
        group: 0,
        rows: new Map([[3, { a: 3 }], [0, { a: 0 }], [1, { a: 1 }]]),
        dropped: new Map([[2, drop(2)]])
      })
      yield* writer.drain
      const text = yield* fs.readFileString(`${dir}/data/row-group-00000.jsonl`)
      assert.strictEqual(text, "{\"a\":0}\n{\"a\":1}\n{\"a\":3}\n")
      const journal = (yield* lines("journal.jsonl")).slice(1).map((line) => JSON.parse(line))
      assert.deepStrictEqual(journal.map((entry) => entry.group), [1, 0])
      assert.deepStrictEqual(journal[1], {
        group: 0,
        file: "data/row-group-00000.jsonl",
        rows: 3,
        bytes: Buffer.byteLength(text),
        sha256: createHash("sha256").update(text).digest("hex"),
        dropped: [2]
      })
      // Group 1's rows 1 and 3 were neither generated nor dropped by this publication: recorded as unknown drops.
      assert.deepStrictEqual(journal[0].dropped, [1, 3])
      assert.deepStrictEqual((yield* lines("dropped.jsonl")).map((line) => JSON.parse(line).row), [2])
      assert.strictEqual(state.rowsOnDisk, 5)
      assert.strictEqual(state.rowsDropped, 3)
      assert.strictEqual(state.dropped.get(5)?.kind, "unknown")
    }).pipe(Effect.provide(NodeServices.layer)))

  it.effect("republishing a group merges regenerated rows in row order; finish rewrites the drop list", () =>
    Effect.gen(function*() {
      const { fs, dir, state, writer, lines } = yield* setUp
      yield* writer.publish({
        group: 0,
        rows: new Map([[0, { a: 0 }], [2, { a: 2 }]]),
        dropped: new Map([[1, drop(1)], [3, drop(3, "authentication")]])
      })
      yield* writer.publish({ group: 0, rows: new Map([[1, { a: 1 }]]), dropped: new Map() })
      yield* writer.drain
      yield* writer.finish
      assert.strictEqual(
        yield* fs.readFileString(`${dir}/data/row-group-00000.jsonl`),
        "{\"a\":0}\n{\"a\":1}\n{\"a\":2}\n"
      )
      assert.deepStrictEqual([...state.dropped.keys()], [3])
      assert.strictEqual(state.dropped.get(3)?.kind, "authentication")
      assert.deepStrictEqual((yield* lines("dropped.jsonl")).map((line) => JSON.parse(line).row), [3])
      const metadata = JSON.parse(yield* fs.readFileString(`${dir}/metadata.json`))
      assert.deepStrictEqual(metadata.completedRowGroups, [0])
      assert.strictEqual(metadata.rowsOnDisk, 3)
    }).pipe(Effect.provide(NodeServices.layer)))

  it.effect("a failed write stops the writer; later publications fail with it instead of waiting", () =>
    Effect.gen(function*() {
      const { fs, dir, writer } = yield* setUp
      yield* fs.remove(`${dir}/data`, { recursive: true })
      yield* writer.publish({ group: 0, rows: new Map([[0, {}]]), dropped: new Map() })
      const failure = yield* Effect.flip(writer.drain)
      assert.include(failure.message, "row-group-00000.jsonl")
      const later = yield* Effect.flip(writer.publish({ group: 1, rows: new Map([[0, {}]]), dropped: new Map() }))
      assert.strictEqual(later._tag, "OutputError")
    }).pipe(Effect.provide(NodeServices.layer)))

  it.effect("Parquet: a group is one Parquet file, journaled by size and sha256; republishing merges in row order", () =>
    Effect.gen(function*() {
      const { fs, dir, state, writer, lines } = yield* setUpWith("parquet")
      yield* writer.publish({
        group: 0,
        rows: new Map([[0, { a: 0, s: "x" }], [2, { a: 2, s: "z" }]]),
        dropped: new Map([[1, drop(1)], [3, drop(3, "authentication")]])
      })
      yield* writer.publish({ group: 0, rows: new Map([[1, { a: 1, s: "y" }]]), dropped: new Map() })
      yield* writer.drain
      const bytes = yield* fs.readFile(`${dir}/data/row-group-00000.parquet`)
      assert.deepStrictEqual(yield* decodeParquet(bytes), [{ a: 0, s: "x" }, { a: 1, s: "y" }, { a: 2, s: "z" }])
      const journal = (yield* lines("journal.jsonl")).slice(1).map((line) => JSON.parse(line))
      assert.deepStrictEqual(journal.at(-1), {
        group: 0,
        file: "data/row-group-00000.parquet",
        rows: 3,
        bytes: bytes.byteLength,
        sha256: createHash("sha256").update(bytes).digest("hex"),
        dropped: [3]
      })
      assert.strictEqual(state.rowsOnDisk, 3)
    }).pipe(Effect.provide(NodeServices.layer)))
})
