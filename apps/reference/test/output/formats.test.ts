import { assert, describe, it } from "@effect/vitest"
import { parseDropRecords } from "../../src/output/dropped.js"
import { journalHeaderLine, journalLine, parseJournal } from "../../src/output/journal.js"
import { redactSecrets } from "../../src/output/redact.js"

const entry = (group: number, rows = 4) => ({
  group,
  file: `data/row-group-0000${group}.jsonl`,
  rows,
  bytes: 10,
  sha256: "ab",
  dropped: []
})

describe("the journal", () => {
  it("keeps the latest entry per group and ignores a partial last line", () => {
    const text = journalHeaderLine + journalLine(entry(0)) + journalLine(entry(1)) + journalLine(entry(0, 3)) +
      "{\"group\":2,\"fi"
    const parsed = parseJournal(text)
    assert.isTrue(parsed.valid)
    assert.deepStrictEqual([...parsed.entries.keys()], [0, 1])
    assert.strictEqual(parsed.entries.get(0)?.rows, 3)
    assert.strictEqual(parsed.completeBytes, text.lastIndexOf("\n") + 1)
    assert.deepStrictEqual(parsed.corruptLines, [])
  })

  it("is not a journal without its header; a line that is not an entry is reported", () => {
    assert.isFalse(parseJournal(journalLine(entry(0))).valid)
    const parsed = parseJournal(journalHeaderLine + "not json\n" + journalLine(entry(1)))
    assert.deepStrictEqual(parsed.corruptLines, [2])
    assert.deepStrictEqual([...parsed.entries.keys()], [1])
  })
})

describe("dropped.jsonl", () => {
  it("the latest record of a row wins; other lines are skipped", () => {
    const records = parseDropRecords(
      "{\"row\":3,\"group\":0,\"kind\":\"timeout\",\"message\":\"a\"}\nnope\n" +
        "{\"row\":3,\"group\":0,\"kind\":\"authentication\",\"message\":\"b\"}\n"
    )
    assert.deepStrictEqual([...records.values()], [{ row: 3, group: 0, kind: "authentication", message: "b" }])
  })
})

describe("redactSecrets", () => {
  it("removes known secrets and anything shaped like a key, on one bounded line", () => {
    assert.strictEqual(
      redactSecrets("Incorrect API key provided: Bearer sk-proj-abcdef123456", []),
      "Incorrect API key provided: Bearer [redacted]"
    )
    assert.strictEqual(redactSecrets("key sk-****abcd is wrong"), "key [redacted] is wrong")
    assert.strictEqual(redactSecrets("bad api_key=abc123def456 sent"), "bad api_key=[redacted] sent")
    assert.strictEqual(redactSecrets("token: \"zz9988776655\"", []), "token: \"[redacted]\"")
    assert.strictEqual(redactSecrets("it was my-secret-value!", ["my-secret-value"]), "it was [redacted]!")
    assert.strictEqual(redactSecrets("two\nlines"), "two lines")
    assert.strictEqual(redactSecrets("x".repeat(400)).length, 300)
    assert.strictEqual(redactSecrets("upstream overloaded"), "upstream overloaded")
  })
})
