import { createHash } from "node:crypto"
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { assert } from "@effect/vitest"

// What the end-to-end tests read back from an output directory, and the configs they write.

export const rowGroupFiles = (out: string): ReadonlyArray<string> =>
  existsSync(join(out, "data")) ? readdirSync(join(out, "data")).filter((f) => /^row-group-\d+\.jsonl$/.test(f)) : []

export const readRows = (out: string): ReadonlyArray<Record<string, unknown>> =>
  [...rowGroupFiles(out)].sort().flatMap((file) =>
    readFileSync(join(out, "data", file), "utf8").split("\n").filter((line) => line !== "").map((line) =>
      JSON.parse(line)
    )
  )

export const summaryOf = (out: string) => JSON.parse(readFileSync(join(out, "summary.json"), "utf8"))

export const jsonLines = (file: string): ReadonlyArray<Record<string, unknown>> =>
  existsSync(file) ? readFileSync(file, "utf8").split("\n").filter((l) => l !== "").map((l) => JSON.parse(l)) : []

export interface JournalEntry {
  readonly group: number
  readonly file: string
  readonly rows: number
  readonly bytes: number
  readonly sha256: string
  readonly dropped: ReadonlyArray<number>
}

/** The latest journal entry per group, after checking the header. */
export const journalOf = (out: string): ReadonlyMap<number, JournalEntry> => {
  const [header, ...entries] = jsonLines(join(out, "journal.jsonl"))
  assert.deepStrictEqual(header, { journal: "sluice-checkpoints/1" })
  return new Map(entries.map((entry) => [entry["group"] as number, entry as unknown as JournalEntry]))
}

/** Every journaled group's file has the size, sha256 and row count the journal recorded. */
export const assertJournalVerifies = (out: string): ReadonlyMap<number, JournalEntry> => {
  const journal = journalOf(out)
  for (const entry of journal.values()) {
    const bytes = readFileSync(join(out, entry.file))
    assert.strictEqual(bytes.byteLength, entry.bytes, entry.file)
    assert.strictEqual(createHash("sha256").update(bytes).digest("hex"), entry.sha256, entry.file)
    assert.strictEqual(bytes.toString("utf8").split("\n").filter((l) => l !== "").length, entry.rows, entry.file)
  }
  return journal
}

export const writeConfig = (dir: string, name: string, config: unknown): string => {
  const file = join(dir, name)
  writeFileSync(file, JSON.stringify(config, null, 2))
  return file
}

export const mockConfig = (mock: Record<string, unknown>, run: Record<string, unknown>, maxParallelRequests = 16) => ({
  providers: [{ name: "local", type: "mock", mock: { latencyMs: { min: 10, max: 30 }, ...mock } }],
  models: [{ alias: "writer", provider: "local", model: "mock-writer", maxParallelRequests }],
  columns: [
    { name: "id", type: "uuid" },
    { name: "topic", type: "category", values: ["shoes", "tents", "lamps"] },
    { name: "review", type: "llm-text", model: "writer", prompt: "Review {{ topic }}." },
    { name: "tagline", type: "llm-text", model: "writer", prompt: "A tagline for: {{ review }}" }
  ],
  run: { bufferSize: 16, ...run }
})

/**
 * A provider that drops rows quickly and with retries spent: half its answers never come, a 0.3 s client timeout
 * turns each into a `timeout` (retried by the scheduler, 3 attempts). One model column, 48 rows in 3 groups.
 */
export const flakyConfig = (timeoutRate: number) => ({
  providers: [{
    name: "local",
    type: "mock",
    timeoutSeconds: 0.3,
    mock: { latencyMs: { min: 5, max: 15 }, timeoutRate, seed: 3 }
  }],
  models: [{ alias: "writer", provider: "local", model: "mock-writer", maxParallelRequests: 16 }],
  columns: [
    { name: "id", type: "uuid" },
    { name: "topic", type: "category", values: ["shoes", "tents", "lamps"] },
    { name: "review", type: "llm-text", model: "writer", prompt: "Review {{ topic }}." }
  ],
  run: { rows: 48, bufferSize: 16 }
})

/** The last stdout line of a `--json` run. */
export const jsonSummaryOf = (stdout: string) => JSON.parse(stdout.trim().split("\n").at(-1) ?? "{}")
