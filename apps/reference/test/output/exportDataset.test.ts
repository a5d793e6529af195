import { NodeServices } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { parse as parseCsv } from "csv-parse/sync"
import { Effect, Exit, FileSystem } from "effect"
import { DatasetState } from "../../src/output/DatasetState.js"
import { exportDataset } from "../../src/output/exportDataset.js"
import { makeGroupWriter } from "../../src/output/GroupWriter.js"
import { journalHeaderLine } from "../../src/output/journal.js"
import { manifestText } from "../../src/output/manifest.js"
import { decodeParquet } from "../../src/output/parquetRows.js"

// Three row groups whose columns differ: `score` is whole in the first group and fractional in the second (one
// DOUBLE column), `note` first appears in the last group (a CSV header and a Parquet schema must have it anyway).
const groups: ReadonlyArray<ReadonlyArray<Record<string, unknown>>> = [
  [{ id: 0, score: 1, tags: ["a"] }, { id: 1, score: 2, tags: [] }],
  [{ id: 2, score: 2.5, tags: ["b", "c"] }, { id: 3, score: null, tags: null }],
  [{ id: 4, score: 3, tags: ["d"], note: "last, \"quoted\"" }]
]
const all = groups.flat()

const dataset = (format: "jsonl" | "parquet", published = groups) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const dir = yield* fs.makeTempDirectoryScoped()
    const out = `${dir}/out`
    yield* fs.makeDirectory(`${out}/data`, { recursive: true })
    yield* fs.writeFileString(`${out}/journal.jsonl`, journalHeaderLine)
    yield* fs.writeFileString(
      `${out}/manifest.json`,
      manifestText({
        format: "sluice-dataset/1",
        createdBy: "test",
        createdAt: "2026-12-07T00:00:00.000Z",
        attempts: 1,
        rowsRequested: 6,
        bufferSize: 2,
        dataIdentity: "d",
        data: {},
        configHash: "c",
        configFile: "config.yaml",
        config: {}
      })
    )
    const state = new DatasetState(6, 2)
    const writer = yield* makeGroupWriter(out, state, { metadata: { configHash: "c", dataIdentity: "d" }, format })
    for (const [group, rows] of published.entries()) {
      yield* writer.publish({ group, rows: new Map(rows.map((row, i) => [i, row])), dropped: new Map() })
    }
    yield* writer.drain
    yield* writer.finish
    return { fs, dir, out }
  })

describe("exportDataset", () => {
  for (const source of ["jsonl", "parquet"] as const) {
    it.effect(`${source} groups: every format holds every row in order, with the columns of every group`, () =>
      Effect.gen(function*() {
        const { fs, dir, out } = yield* dataset(source)
        const jsonl = yield* exportDataset(out, `${dir}/all.jsonl`, "jsonl", false)
        assert.deepStrictEqual(jsonl, { rows: 5, rowGroups: 3, rowsMissing: 1 })
        const lines = (yield* fs.readFileString(`${dir}/all.jsonl`)).split("\n").filter((line) => line !== "")
        assert.deepStrictEqual(lines.map((line) => JSON.parse(line)), all)

        yield* exportDataset(out, `${dir}/all.parquet`, "parquet", false)
        const parquet = yield* decodeParquet(yield* fs.readFile(`${dir}/all.parquet`))
        assert.deepStrictEqual(
          parquet,
          all.map((row) => ({ id: row["id"], score: row["score"], tags: row["tags"], note: row["note"] ?? null }))
        )

        yield* exportDataset(out, `${dir}/all.csv`, "csv", false)
        const csv = parseCsv(yield* fs.readFileString(`${dir}/all.csv`), { columns: true }) as Array<
          Record<string, string>
        >
        assert.deepStrictEqual(Object.keys(csv[0]!), ["id", "score", "tags", "note"])
        assert.deepStrictEqual(csv.map((row) => row["score"]), ["1", "2", "2.5", "", "3"])
        assert.deepStrictEqual(csv[4], { id: "4", score: "3", tags: "[\"d\"]", note: "last, \"quoted\"" })
        // Nothing but the three exports was left next to them.
        assert.deepStrictEqual((yield* fs.readDirectory(dir)).sort(), ["all.csv", "all.jsonl", "all.parquet", "out"])
      }).pipe(Effect.provide(NodeServices.layer)))
  }

  it.effect("a damaged group fails the export: --to keeps what it held and no temporary file is left", () =>
    Effect.gen(function*() {
      const { fs, dir, out } = yield* dataset("jsonl")
      const last = `${out}/data/row-group-00002.jsonl`
      yield* fs.writeFileString(last, (yield* fs.readFileString(last)).replace("last", "LAST"))
      for (const format of ["jsonl", "csv", "parquet"] as const) {
        const target = `${dir}/all.${format}`
        yield* fs.writeFileString(target, "mine")
        const exit = yield* Effect.exit(exportDataset(out, target, format, true))
        assert.isTrue(Exit.isFailure(exit))
        assert.include(String(exit), "does not match its recorded sha256")
        assert.include(String(exit), "--resume")
        assert.strictEqual(yield* fs.readFileString(target), "mine")
      }
      assert.deepStrictEqual((yield* fs.readDirectory(dir)).sort(), ["all.csv", "all.jsonl", "all.parquet", "out"])
    }).pipe(Effect.provide(NodeServices.layer)))

  it.effect("--to inside the dataset (a row group, the journal, data/) is refused before anything is written", () =>
    Effect.gen(function*() {
      const { fs, out } = yield* dataset("jsonl")
      const group = `${out}/data/row-group-00000.jsonl`
      const before = yield* fs.readFileString(group)
      for (
        const target of [group, `${out}/data/all.jsonl`, `${out}/journal.jsonl`, `${out}/manifest.json`, `${out}/data`]
      ) {
        const exit = yield* Effect.exit(exportDataset(out, target, "jsonl", true))
        assert.isTrue(Exit.isFailure(exit), target)
        assert.include(String(exit), "is part of the dataset")
      }
      assert.strictEqual(yield* fs.readFileString(group), before)
      assert.deepStrictEqual(
        (yield* fs.readDirectory(`${out}/data`)).sort(),
        [0, 1, 2].map((g) => `row-group-0000${g}.jsonl`)
      )
      // Next to the dataset's files is fine.
      yield* exportDataset(out, `${out}/all.jsonl`, "jsonl", false)
      assert.strictEqual((yield* fs.readFileString(`${out}/all.jsonl`)).split("\n").length, 6)
    }).pipe(Effect.provide(NodeServices.layer)))

  it.effect("a dataset with no row group on disk exports empty files in every format", () =>
    Effect.gen(function*() {
      const { fs, dir, out } = yield* dataset("parquet", [])
      for (const format of ["jsonl", "csv", "parquet"] as const) {
        const result = yield* exportDataset(out, `${dir}/none.${format}`, format, false)
        assert.deepStrictEqual(result, { rows: 0, rowGroups: 0, rowsMissing: 6 })
      }
      assert.strictEqual(yield* fs.readFileString(`${dir}/none.jsonl`), "")
      assert.deepStrictEqual(yield* decodeParquet(yield* fs.readFile(`${dir}/none.parquet`)), [])
    }).pipe(Effect.provide(NodeServices.layer)))

  it.effect("--to through a symbolic link into the dataset is refused; a missing parent is created; a directory is not a file", () =>
    Effect.gen(function*() {
      const { fs, dir, out } = yield* dataset("jsonl")
      yield* fs.symlink(out, `${dir}/link`)
      yield* fs.symlink(`${out}/data`, `${dir}/datalink`)
      const before = yield* fs.readFileString(`${out}/journal.jsonl`)
      for (
        const target of [
          `${dir}/link/journal.jsonl`,
          `${dir}/datalink/row-group-00000.jsonl`,
          `${dir}/link/data/x.jsonl`
        ]
      ) {
        const exit = yield* Effect.exit(exportDataset(out, target, "jsonl", true))
        assert.include(String(exit), "is part of the dataset", target)
      }
      assert.strictEqual(yield* fs.readFileString(`${out}/journal.jsonl`), before)
      const directory = yield* Effect.exit(exportDataset(out, dir, "jsonl", true))
      assert.include(String(directory), "is a directory")
      const nested = yield* exportDataset(out, `${dir}/new/sub/all.jsonl`, "jsonl", false)
      assert.strictEqual(nested.rows, 5)
    }).pipe(Effect.provide(NodeServices.layer)))

  it.effect("a journal that does not add up fails the export, naming the repair: nothing outside data/ is read", () =>
    Effect.gen(function*() {
      const { fs, dir, out } = yield* dataset("jsonl")
      const journal = `${out}/journal.jsonl`
      const good = yield* fs.readFileString(journal)
      const lines = good.trimEnd().split("\n")
      yield* fs.writeFileString(`${dir}/secret.jsonl`, "{\"secret\":1}\n")
      const outside = JSON.stringify({
        group: 1,
        file: "../secret.jsonl",
        rows: 1,
        bytes: 13,
        sha256: "x",
        dropped: []
      })
      const cases: ReadonlyArray<readonly [string, string]> = [
        [good + outside + "\n", "not a row-group file Sluice names"],
        [good + JSON.stringify({ ...JSON.parse(lines[1]!), rows: 3 }) + "\n", "records 3 rows and 0 dropped"],
        [
          good + JSON.stringify({ ...JSON.parse(lines[1]!), group: 9, file: "data/row-group-00009.jsonl" }) + "\n",
          "beyond the dataset's 3 row groups"
        ],
        [[lines[0], lines[1], "{garbage", lines[2], lines[3]].join("\n") + "\n", "unreadable line(s) 3"],
        ["", "is not a Sluice checkpoint journal"]
      ]
      for (const [text, problem] of cases) {
        yield* fs.writeFileString(journal, text)
        const exit = yield* Effect.exit(exportDataset(out, `${dir}/all.jsonl`, "jsonl", true))
        assert.include(String(exit), problem)
        assert.isFalse(yield* fs.exists(`${dir}/all.jsonl`))
      }
      yield* fs.writeFileString(journal, good)
      yield* fs.remove(`${out}/data/row-group-00001.jsonl`)
      const missing = yield* Effect.exit(exportDataset(out, `${dir}/all.jsonl`, "jsonl", true))
      assert.include(String(missing), "row-group-00001.jsonl: is missing; run `sluice generate <config> --out")
    }).pipe(Effect.provide(NodeServices.layer)))

  it.effect("a dataset a live run holds is not exported", () =>
    Effect.gen(function*() {
      const { fs, dir, out } = yield* dataset("jsonl")
      const { hostname } = yield* Effect.promise(() => import("node:os"))
      yield* fs.writeFileString(
        `${out}/sluice.lock`,
        JSON.stringify({ pid: process.pid, host: hostname(), startedAt: "2026-12-07T00:00:00.000Z" })
      )
      const exit = yield* Effect.exit(exportDataset(out, `${dir}/all.jsonl`, "jsonl", false))
      assert.include(String(exit), `is being written by a sluice run (pid ${process.pid}`)
      // A lock left by a process that is gone does not stop it.
      yield* fs.writeFileString(
        `${out}/sluice.lock`,
        JSON.stringify({ pid: 99_999_999, host: hostname(), startedAt: "2026-12-07T00:00:00.000Z" })
      )
      assert.strictEqual((yield* exportDataset(out, `${dir}/all.jsonl`, "jsonl", false)).rows, 5)
    }).pipe(Effect.provide(NodeServices.layer)))
})
