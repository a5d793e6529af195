// Adds up the JSON reports that each package's vitest run wrote (`.vitest-reports/results.json`) and prints
// one closing line for the whole workspace: "N passed, N failed" (", N skipped" when any were skipped).
import { existsSync, readdirSync, readFileSync } from "node:fs"
import { join } from "node:path"

const roots = ["packages", "apps", "tooling"]
let passed = 0
let failed = 0
let skipped = 0
let reports = 0
for (const root of roots) {
  if (!existsSync(root)) continue
  for (const name of readdirSync(root)) {
    const file = join(root, name, ".vitest-reports", "results.json")
    if (!existsSync(file)) continue
    const report = JSON.parse(readFileSync(file, "utf8"))
    reports++
    passed += report.numPassedTests ?? 0
    failed += report.numFailedTests ?? 0
    skipped += (report.numPendingTests ?? 0) + (report.numTodoTests ?? 0)
  }
}
if (reports === 0) {
  console.error("test-summary: no vitest reports were found")
  process.exit(1)
}
console.log(`tests: ${passed} passed, ${failed} failed${skipped > 0 ? `, ${skipped} skipped` : ""}`)
process.exit(failed > 0 || passed === 0 ? 1 : 0)
