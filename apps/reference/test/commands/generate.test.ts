import { assert, describe, it } from "@effect/vitest"
import { describeDrops, exitCodeOf, incompleteMessage, resumeCommand } from "../../src/commands/generate.js"
import type { RunSummary } from "../../src/pipeline/summary.js"
import { emptyRequestCounts } from "../../src/pipeline/requestCounters.js"

const summary = (overrides: Partial<RunSummary>): RunSummary => ({
  status: "completed",
  attempt: 1,
  rowsRequested: 10,
  rowsCompleted: 10,
  rowsDropped: 0,
  rowsFiltered: 0,
  rowsMissing: 0,
  dropCauses: {},
  dropMessages: {},
  elapsedSeconds: 1,
  requests: emptyRequestCounts(),
  maxRequestWaiters: 0,
  leaks: { taskLeases: 0, requestLeases: 0, requestWaiters: 0 },
  ...overrides
})

const invocation = { config: "my config.yaml", out: "out/x", rows: 10 }

describe("sluice generate's exit codes and messages", () => {
  it("one meaning per code", () => {
    assert.strictEqual(exitCodeOf(summary({})), 0)
    const dropped = summary({ status: "completed_with_drops", rowsCompleted: 7, rowsDropped: 3 })
    assert.strictEqual(exitCodeOf(dropped), 3)
    assert.strictEqual(exitCodeOf(summary({ status: "stopped", rowsCompleted: 4, rowsMissing: 6 })), 4)
    assert.strictEqual(exitCodeOf(summary({ status: "completed_with_drops", rowsCompleted: 0, rowsDropped: 10 })), 4)
    assert.strictEqual(exitCodeOf(summary({ status: "interrupted", rowsCompleted: 4, rowsMissing: 6 })), 130)
    // Rows a processor dropped are wanted: not an incomplete run.
    assert.strictEqual(exitCodeOf(summary({ rowsCompleted: 7, rowsDropped: 3, rowsFiltered: 3 })), 0)
    assert.strictEqual(exitCodeOf(summary({ rowsCompleted: 6, rowsDropped: 4, rowsFiltered: 3 })), 3)
  })

  it("names each cause with its count and first message", () => {
    const dropped = summary({
      status: "completed_with_drops",
      rowsCompleted: 7,
      rowsDropped: 3,
      dropCauses: { timeout: 1, internal_server: 2 },
      dropMessages: { internal_server: ["upstream overloaded"], timeout: [] }
    })
    assert.strictEqual(describeDrops(dropped), "internal_server 2 (\"upstream overloaded\"), timeout 1")
    assert.strictEqual(
      incompleteMessage(dropped, invocation),
      "3 rows dropped: internal_server 2 (\"upstream overloaded\"), timeout 1; 7/10 rows on disk. They are listed " +
        "in out/x/dropped.jsonl; to regenerate them: sluice generate 'my config.yaml' --out out/x --rows 10 " +
        "--resume --retry-dropped"
    )
    assert.strictEqual(incompleteMessage(summary({}), invocation), undefined)
  })

  it("a stopped run says why, what is on disk and how to continue", () => {
    const stopped = summary({
      status: "stopped",
      rowsCompleted: 0,
      rowsDropped: 2,
      rowsMissing: 8,
      dropCauses: { authentication: 2 },
      dropMessages: { authentication: ["Incorrect API key provided"] },
      stop: { reason: "stop_on_kind", kind: "authentication", message: "the provider refused the key" }
    })
    assert.strictEqual(
      incompleteMessage(stopped, { ...invocation, rows: undefined }),
      "the run stopped early (stop_on_kind authentication: the provider refused the key); 2 rows dropped: " +
        "authentication 2 (\"Incorrect API key provided\"); 0/10 rows on disk, 8 missing. Fix the cause, then " +
        "continue with: sluice generate 'my config.yaml' --out out/x --resume --retry-dropped"
    )
  })

  it("the resume command quotes what a shell would split", () => {
    assert.strictEqual(
      resumeCommand({ config: "a b/it's.yaml", out: "out", rows: undefined }),
      "sluice generate 'a b/it'\\''s.yaml' --out out --resume"
    )
  })
})
