import { createHash } from "node:crypto"
import { existsSync, readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { parse as parseCsv } from "csv-parse/sync"
import { parquetWriteBuffer } from "hyparquet-writer"
import { assertJournalVerifies, journalOf, jsonLines, readRows, summaryOf, writeConfig } from "./helpers.js"
import { repoRoot, runCli, tempDir } from "./runCli.js"

// The examples of the dataset features (seed tables, samplers, dropped columns), each run through the real CLI on
// the mock provider, and their data checked.

const seedCsv = parseCsv(readFileSync(join(repoRoot, "examples/seed-products.csv"), "utf8"), {
  columns: true
}) as ReadonlyArray<Record<string, string>>

const readParquet = (file: string) =>
  Effect.promise(() =>
    import("hyparquet").then(({ parquetReadObjects }) => {
      const bytes = readFileSync(file)
      return parquetReadObjects({
        file: bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer
      }) as Promise<Array<Record<string, unknown>>>
    })
  )

describe("examples/seed.yaml (through the CLI process)", () => {
  it.live(
    "every row carries one seed row's columns; shuffle visits each seed row once per pass",
    () =>
      Effect.gen(function*() {
        const dir = yield* tempDir
        const out = join(dir, "out")
        const run = yield* runCli(["generate", "examples/seed.yaml", "--out", out, "--no-check"])
        assert.strictEqual(run.code, 0, run.stderr)
        assertJournalVerifies(out)
        assert.isFalse(existsSync(join(out, "events.jsonl")), "no event log unless run.events")
        const rows = readRows(out)
        assert.strictEqual(rows.length, 12)
        assert.deepStrictEqual(Object.keys(rows[0]!), ["sku", "product", "category", "price", "id", "review", "label"])
        for (const row of rows) {
          const seed = seedCsv.find((s) => s["sku"] === row["sku"])
          assert.isDefined(seed, JSON.stringify(row))
          for (const key of ["product", "category", "price"]) assert.strictEqual(row[key], seed![key])
          assert.strictEqual(row["label"], `${seed!["sku"]}: ${seed!["product"]}`)
          assert.isString(row["review"])
        }
        // 12 rows over a 6-row table: two passes, each a permutation of the table, not in file order.
        for (const pass of [rows.slice(0, 6), rows.slice(6, 12)]) {
          assert.sameMembers(pass.map((r) => r["sku"]), seedCsv.map((s) => s["sku"]))
        }
        assert.notDeepEqual(rows.slice(0, 6).map((r) => r["sku"]), seedCsv.map((s) => s["sku"]))
      }),
    120_000
  )

  it.live(
    "ordered, replacement, JSONL and Parquet seeds; bad seeds are config errors naming the field",
    () =>
      Effect.gen(function*() {
        const dir = yield* tempDir
        const table = [{ city: "Oslo", pop: 700 }, { city: "Lima", pop: 10_000 }, { city: "Pune", pop: 7000 }]
        writeFileSync(join(dir, "cities.jsonl"), table.map((r) => JSON.stringify(r)).join("\n") + "\n")
        writeFileSync(
          join(dir, "cities.parquet"),
          new Uint8Array(parquetWriteBuffer({
            columnData: [
              { name: "city", data: table.map((r) => r.city), type: "STRING" },
              { name: "pop", data: table.map((r) => r.pop), type: "DOUBLE" }
            ]
          }))
        )
        writeFileSync(join(dir, "empty.csv"), "city,pop\n")
        const config = (seed: Record<string, unknown>, template = "{{ city }} has {{ pop }} people") => ({
          providers: [{ name: "local", type: "mock" }],
          seed,
          columns: [{ name: "line", type: "template", template }],
          run: { rows: 7, bufferSize: 3 }
        })
        const generate = (name: string, seed: Record<string, unknown>, template?: string) =>
          Effect.gen(function*() {
            const file = writeConfig(dir, `${name}.json`, config(seed, template))
            const out = join(dir, `out-${name}`)
            return { run: yield* runCli(["generate", file, "--out", out, "--no-check"]), out, file }
          })

        const ordered = yield* generate("ordered", { path: "cities.jsonl", sampling: "ordered" })
        assert.strictEqual(ordered.run.code, 0, ordered.run.stderr)
        assert.deepStrictEqual(
          readRows(ordered.out).map((r) => r["city"]),
          ["Oslo", "Lima", "Pune", "Oslo", "Lima", "Pune", "Oslo"]
        )
        assert.deepStrictEqual(readRows(ordered.out)[1], { city: "Lima", pop: 10000, line: "Lima has 10000 people" })

        // The table is part of the dataset's identity: a resume over a changed table is refused, naming it.
        writeFileSync(join(dir, "cities.jsonl"), table.map((r) => JSON.stringify({ ...r, pop: 1 })).join("\n") + "\n")
        const resumed = yield* runCli(["generate", ordered.file, "--out", ordered.out, "--no-check", "--resume"])
        assert.strictEqual(resumed.code, 2, resumed.stderr)
        assert.include(resumed.stderr, "seedTable changed")
        writeFileSync(join(dir, "cities.jsonl"), table.map((r) => JSON.stringify(r)).join("\n") + "\n")

        const parquet = yield* generate("parquet", { path: "cities.parquet" })
        assert.strictEqual(parquet.run.code, 0, parquet.run.stderr)
        assert.deepStrictEqual(readRows(parquet.out), readRows(ordered.out))

        const replacement = yield* generate("replacement", { path: "cities.jsonl", sampling: "replacement", seed: 5 })
        assert.strictEqual(replacement.run.code, 0, replacement.run.stderr)
        const drawn = readRows(replacement.out).map((r) => r["city"])
        assert.strictEqual(drawn.length, 7)
        for (const city of drawn) assert.include(["Oslo", "Lima", "Pune"], city)
        // The same seed draws the same rows.
        const again = yield* generate("replacement-again", { path: "cities.jsonl", sampling: "replacement", seed: 5 })
        assert.deepStrictEqual(readRows(again.out).map((r) => r["city"]), drawn)

        const missing = yield* generate("missing", { path: "nope.csv" })
        assert.strictEqual(missing.run.code, 2)
        assert.match(missing.run.stderr, /seed\.path: no such file: .*nope\.csv/)
        const empty = yield* generate("empty", { path: "empty.csv" })
        assert.strictEqual(empty.run.code, 2)
        assert.include(empty.run.stderr, "seed.path: empty.csv has no rows")
        const unknown = yield* generate("unknown", { path: "cities.jsonl" }, "{{ country }}")
        assert.strictEqual(unknown.run.code, 2)
        assert.include(unknown.run.stderr, `columns[0].template: unknown column "country" in template`)
        const format = yield* generate("format", { path: "cities.txt" })
        assert.strictEqual(format.run.code, 2)
        assert.include(format.run.stderr, "seed.format: cannot tell the format of cities.txt")
      }),
    180_000
  )
})

describe("examples/samplers.yaml (through the CLI process)", () => {
  it.live(
    "subcategories follow their parent, conditional prices follow the product, dropped columns stay out",
    () =>
      Effect.gen(function*() {
        const dir = yield* tempDir
        const out = join(dir, "out")
        const run = yield* runCli(["generate", "examples/samplers.yaml", "--out", out, "--no-check"])
        assert.strictEqual(run.code, 0, run.stderr)
        assertJournalVerifies(out)
        assert.strictEqual(summaryOf(out).rowsCompleted, 40)
        const rows = readRows(out)
        assert.strictEqual(rows.length, 40)
        const variants: Record<string, ReadonlyArray<string>> = {
          tent: ["two-person", "family", "ultralight"],
          headlamp: ["rechargeable", "AAA"],
          stove: ["gas", "wood"]
        }
        for (const row of rows) {
          assert.notProperty(row, "discounted")
          const product = row["product"] as string
          assert.include(variants[product] ?? [], row["variant"] as string)
          const price = row["price"] as number
          if (product === "tent") assert.isTrue(price >= 150 && price <= 600, `${price}`)
          else assert.isTrue(price >= 10 && price <= 60, `${price}`)
          assert.include([0, 1], row["returned"])
          assert.isTrue(Number.isInteger(row["units"]) && (row["units"] as number) <= 10)
          assert.isTrue(Number.isInteger(row["questions"]) && (row["questions"] as number) >= 0)
          assert.strictEqual(Math.round((row["rating"] as number) * 10) / 10, row["rating"])
          const ordered = row["ordered_at"] as string
          assert.match(ordered, /^2024-\d{2}-\d{2}$/)
          const days = (Date.parse(row["delivered_at"] as string) - Date.parse(ordered)) / 86_400_000
          assert.isTrue(Number.isInteger(days) && days >= 1 && days <= 9, `${days}`)
          const customer = row["customer"] as Record<string, unknown>
          assert.isString(customer["first_name"])
          assert.isTrue((customer["age"] as number) >= 21 && (customer["age"] as number) <= 70)
          // The prompt used the person and the dropped column (the mock echoes words of its prompt).
          assert.isString(row["note"])
        }
        assert.sameMembers([...new Set(rows.map((r) => r["product"]))], ["tent", "headlamp", "stove"])
        // Deterministic under the run seed: a second run writes the same rows.
        const out2 = join(dir, "out2")
        const second = yield* runCli(["generate", "examples/samplers.yaml", "--out", out2, "--no-check"])
        assert.strictEqual(second.code, 0, second.stderr)
        assert.deepStrictEqual(readRows(out2), rows)
      }),
    120_000
  )
})

describe("examples/drop.yaml (through the CLI process)", () => {
  it.live("a dropped column is generated and used in prompts, but not written", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const out = join(dir, "out")
      const run = yield* runCli(["generate", "examples/drop.yaml", "--out", out, "--no-check", "--json"])
      assert.strictEqual(run.code, 0, run.stderr)
      assertJournalVerifies(out)
      const rows = readRows(out)
      assert.strictEqual(rows.length, 8)
      for (const row of rows) {
        assert.deepStrictEqual(Object.keys(row), ["topic", "fact"])
        assert.isString(row["fact"])
      }
      // Both model columns ran for every row: the draft was generated (two requests per row).
      assert.strictEqual(summaryOf(out).requests.succeeded, 16)
      // A JSONL dataset exported as Parquet reads back to the same rows, byte for byte as JSON.
      const exported = yield* runCli(["export", out, "--to", join(dir, "drop.parquet")])
      assert.strictEqual(exported.code, 0, exported.stderr)
      const back = yield* readParquet(join(dir, "drop.parquet"))
      assert.strictEqual(
        back.map((row) => JSON.stringify(row)).join("\n"),
        rows.map((row) => JSON.stringify(row)).join("\n")
      )
    }), 120_000)
})

describe("examples/parquet.yaml and sluice export (through the CLI process)", () => {
  it.live(
    "Parquet row groups verify like JSONL; export merges them in order; rows are identical to the JSONL",
    () =>
      Effect.gen(function*() {
        const dir = yield* tempDir
        const out = join(dir, "out")
        const run = yield* runCli(["generate", "examples/parquet.yaml", "--out", out, "--no-check"])
        assert.strictEqual(run.code, 0, run.stderr)
        // The journal records every Parquet file's size and sha256, and its rows.
        const journal = [...journalOf(out).values()].sort((a, b) => a.group - b.group)
        assert.deepStrictEqual(journal.map((e) => e.file), [0, 1, 2, 3].map((g) => `data/row-group-0000${g}.parquet`))
        const groups: Array<Array<Record<string, unknown>>> = []
        for (const entry of journal) {
          const bytes = readFileSync(join(out, entry.file))
          assert.strictEqual(bytes.byteLength, entry.bytes)
          assert.strictEqual(createHash("sha256").update(bytes).digest("hex"), entry.sha256)
          const rows = yield* readParquet(join(out, entry.file))
          assert.strictEqual(rows.length, entry.rows)
          groups.push(rows)
        }
        assert.deepStrictEqual(groups.map((g) => g.length), [8, 8, 8, 6])

        // events.jsonl: one run id; each model attempt names its task (which the scheduler completed) and its lease
        // (which request admission granted); capacity snapshots and the provider's first sighting.
        const events = jsonLines(join(out, "events.jsonl"))
        assert.strictEqual(new Set(events.map((e) => e["runId"])).size, 1)
        const tags = (tag: string) => events.filter((e) => e["_tag"] === tag)
        const attempts = tags("model_attempt_completed")
        assert.strictEqual(attempts.length, 60)
        const completedTasks = new Set(tags("task_completed").map((e) => e["taskId"]))
        const leases = new Set(tags("request_lease_acquired").map((e) => e["leaseId"]))
        for (const attempt of attempts) {
          assert.isTrue(completedTasks.has(attempt["taskId"]), JSON.stringify(attempt))
          assert.isTrue(leases.has(attempt["leaseId"]), JSON.stringify(attempt))
          assert.strictEqual(attempt["status"], "ok")
          assert.strictEqual(String(attempt["taskId"]).split(":")[1], String(attempt["rowGroup"]))
        }
        assert.isAtLeast(tags("capacity_snapshot").length, 1)
        assert.deepStrictEqual(tags("provider_first_seen").map((e) => e["provider"]), ["local"])
        assert.strictEqual(tags("row_group_checkpointed").length, 4)
        assert.strictEqual(tags("scheduler_job_completed").length, 1)

        // Exports: one file each, rows in row-group order; the Parquet export reads back to the JSONL export's rows.
        for (const format of ["jsonl", "parquet", "csv"]) {
          const exported = yield* runCli(["export", out, "--format", format, "--to", join(dir, `all.${format}`)])
          assert.strictEqual(exported.code, 0, exported.stderr)
          assert.include(exported.stdout, `30 rows from 4 row groups as ${format}`)
        }
        const jsonlText = readFileSync(join(dir, "all.jsonl"), "utf8")
        const parquetRows = yield* readParquet(join(dir, "all.parquet"))
        assert.strictEqual(parquetRows.map((row) => JSON.stringify(row) + "\n").join(""), jsonlText)
        assert.deepStrictEqual(parquetRows, groups.flat())
        const first = parquetRows[0]!
        assert.deepStrictEqual(Object.keys(first), [
          "id",
          "product",
          "rating",
          "score",
          "in_stock",
          "review",
          "verdict"
        ])
        assert.isNumber(first["rating"])
        assert.isObject(first["verdict"])
        const csvRows = parseCsv(readFileSync(join(dir, "all.csv"), "utf8"), { columns: true }) as Array<
          Record<string, string>
        >
        assert.strictEqual(csvRows.length, 30)
        assert.strictEqual(csvRows[3]!["review"], parquetRows[3]!["review"])
        assert.deepStrictEqual(JSON.parse(csvRows[3]!["verdict"]!), parquetRows[3]!["verdict"])
        // An existing --to is not replaced without --overwrite.
        const again = yield* runCli(["export", out, "--to", join(dir, "all.parquet")])
        assert.strictEqual(again.code, 2)
        assert.include(again.stderr, "already exists; pass --overwrite")

        // A damaged Parquet group is found on --resume and regenerated; export refuses a damaged group.
        const victim = join(out, journal[1]!.file)
        const damaged = readFileSync(victim)
        damaged.writeUInt8(damaged.readUInt8(damaged.byteLength - 20) ^ 0xff, damaged.byteLength - 20)
        writeFileSync(victim, damaged)
        const refused = yield* runCli(["export", out, "--to", join(dir, "broken.parquet")])
        assert.strictEqual(refused.code, 2)
        assert.include(refused.stderr, "does not match its recorded sha256; run `sluice generate")
        const resumed = yield* runCli(["generate", "examples/parquet.yaml", "--out", out, "--no-check", "--resume"])
        assert.strictEqual(resumed.code, 0, resumed.stderr)
        assert.include(resumed.stderr, "row group 1 (data/row-group-00001.parquet) does not match its recorded sha256")
        const repaired = yield* readParquet(victim)
        assert.strictEqual(repaired.length, 8)
        assert.deepStrictEqual(repaired.map((r) => r["id"]), groups[1]!.map((r) => r["id"]))
      }),
    180_000
  )
})
