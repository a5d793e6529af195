import { join } from "node:path"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { jsonLines, readRows, summaryOf } from "./helpers.js"
import { runCli, tempDir } from "./runCli.js"

// The conditional-generation and processor examples, run through the real CLI on the embedded mock.

describe("examples/skip.yaml and examples/processor.yaml (end to end)", () => {
  it.live(
    "skip.yaml: followUp is generated only where rating < 3, null elsewhere, and reply follows it",
    () =>
      Effect.gen(function*() {
        const out = join(yield* tempDir, "skip")
        const run = yield* runCli(["generate", "examples/skip.yaml", "--out", out, "--json"])
        assert.strictEqual(run.code, 0, run.stderr)
        const rows = readRows(out)
        assert.strictEqual(rows.length, 48)
        const low = rows.filter((row) => (row["rating"] as number) < 3)
        assert.isAbove(low.length, 0, "the example has low ratings")
        assert.isBelow(low.length, 48, "and others")
        for (const row of rows) {
          if ((row["rating"] as number) < 3) {
            assert.isString(row["followUp"])
            assert.strictEqual(row["reply"], `Support: ${String(row["followUp"])}`)
          } else {
            // Skipped cells are written as null, and the skip propagates to the column reading them.
            assert.strictEqual(row["followUp"], null)
            assert.strictEqual(row["reply"], null)
          }
          assert.isString(row["review"])
        }
        const summary = summaryOf(out)
        assert.strictEqual(summary.rowsCompleted, 48)
        assert.strictEqual(summary.rowsDropped, 0)
        // A skipped cell never calls the model: one review per row, one follow-up per low rating.
        assert.strictEqual(summary.providers.local.served, 48 + low.length)
        assert.deepStrictEqual(summary.leaks, { taskLeases: 0, requestLeases: 0, requestWaiters: 0 })
      }),
    60_000
  )

  it.live(
    "processor.yaml: pre-batch drops low ratings before any model call, post-batch drops headlamps",
    () =>
      Effect.gen(function*() {
        const out = join(yield* tempDir, "processor")
        const run = yield* runCli(["generate", "examples/processor.yaml", "--out", out, "--json"])
        assert.strictEqual(run.code, 0, run.stderr)
        const rows = readRows(out)
        assert.isAbove(rows.length, 0)
        for (const row of rows) {
          assert.isAtLeast(row["rating"] as number, 3)
          assert.notStrictEqual(row["product"], "headlamp")
          assert.strictEqual(row["label"], `${String(row["product"])} (${String(row["rating"])}/5)`)
          assert.isString(row["review"])
        }
        const dropped = jsonLines(join(out, "dropped.jsonl"))
        const byProcessor = (name: string) =>
          dropped.filter((d) => d["kind"] === "processor_dropped" && String(d["message"]).includes(`"${name}"`)).length
        const preBatch = byProcessor("low-ratings")
        const postBatch = byProcessor("no-headlamps")
        assert.isAbove(preBatch, 0)
        assert.isAbove(postBatch, 0)
        assert.strictEqual(rows.length + preBatch + postBatch, 48)
        const summary = summaryOf(out)
        assert.strictEqual(summary.status, "completed")
        assert.strictEqual(summary.rowsDropped, preBatch + postBatch)
        assert.strictEqual(summary.rowsFiltered, summary.rowsDropped)
        assert.deepStrictEqual(summary.dropCauses, { processor_dropped: preBatch + postBatch })
        // Rows dropped before the batch never reached the model; those dropped after it did.
        assert.strictEqual(summary.providers.local.served, rows.length + postBatch)
        assert.deepStrictEqual(summary.leaks, { taskLeases: 0, requestLeases: 0, requestWaiters: 0 })
      }),
    60_000
  )
})
