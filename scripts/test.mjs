// `pnpm test`: type-checks, tests and lints every package (turbo, cached), then prints one closing line for the
// whole workspace, "tests: N passed, N failed" (", N skipped" when any were skipped), and exits non-zero if
// anything failed.
//
// - A failed task does not stop the run: turbo goes on with every task whose dependencies succeeded, so the line is
//   always printed and counts every package that could run.
// - Only this run's results count: each package's `.vitest-reports/` is deleted first, so a package whose tests did
//   not run (its typecheck failed) cannot report an earlier run's results. A cached test task restores its report
//   from turbo's cache, which is this run's result for unchanged inputs.
// - "failed" is failed tests plus failed tasks that no failed test explains (a typecheck, a lint, a vitest run that
//   crashed); they are named on the line before it.
import { spawnSync } from "node:child_process"
import { existsSync, readdirSync, readFileSync, rmSync } from "node:fs"
import { join } from "node:path"

const roots = ["packages", "apps", "tooling"]
const packageDirs = roots.flatMap((root) => existsSync(root) ? readdirSync(root).map((name) => join(root, name)) : [])
for (const dir of packageDirs) rmSync(join(dir, ".vitest-reports"), { recursive: true, force: true })

const runsDir = join(".turbo", "runs")
const summariesBefore = new Set(existsSync(runsDir) ? readdirSync(runsDir) : [])
const turbo = spawnSync(
  "pnpm",
  [
    "exec",
    "turbo",
    "run",
    "typecheck",
    "test",
    "lint",
    "--output-logs=errors-only",
    "--continue=dependencies-successful",
    "--summarize",
    // e.g. `pnpm test --filter=@sluice/errors`
    ...process.argv.slice(2)
  ],
  { stdio: "inherit", env: { ...process.env, TURBO_TELEMETRY_DISABLED: "1" } }
)

// The tasks that failed, from the run summary turbo just wrote.
const newSummaries = existsSync(runsDir) ? readdirSync(runsDir).filter((f) => !summariesBefore.has(f)) : []
const failedTasks = []
for (const file of newSummaries) {
  const summary = JSON.parse(readFileSync(join(runsDir, file), "utf8"))
  for (const task of summary.tasks ?? []) {
    const exitCode = task.execution?.exitCode
    if (typeof exitCode === "number" && exitCode !== 0) failedTasks.push(task.taskId)
  }
  rmSync(join(runsDir, file), { force: true })
}

let passed = 0
let failedTests = 0
let skipped = 0
const explained = new Set()
for (const dir of packageDirs) {
  const file = join(dir, ".vitest-reports", "results.json")
  if (!existsSync(file)) continue
  const report = JSON.parse(readFileSync(file, "utf8"))
  passed += report.numPassedTests ?? 0
  failedTests += report.numFailedTests ?? 0
  skipped += (report.numPendingTests ?? 0) + (report.numTodoTests ?? 0)
  const name = JSON.parse(readFileSync(join(dir, "package.json"), "utf8")).name
  if ((report.numFailedTests ?? 0) > 0) explained.add(`${name}#test`)
}
const unexplained = failedTasks.filter((task) => !explained.has(task))
if (failedTasks.length > 0) console.error(`failed tasks: ${failedTasks.join(", ")}`)
if (turbo.status !== 0 && failedTasks.length === 0) {
  console.error(`turbo exited with ${turbo.status ?? turbo.signal} and named no failed task`)
  unexplained.push("turbo")
}
const failed = failedTests + unexplained.length
console.log(`tests: ${passed} passed, ${failed} failed${skipped > 0 ? `, ${skipped} skipped` : ""}`)
process.exit(failed > 0 || passed === 0 ? 1 : 0)
