import { assert, it } from "@effect/vitest"
import { execFileSync } from "node:child_process"
import { fileURLToPath } from "node:url"

const packageDir = fileURLToPath(new URL("..", import.meta.url))

it("`node examples/readme.ts` fills three columns through request admission", () => {
  // As a user runs it: plain node, the packages imported by their published names (resolved to the built dist/).
  const stdout = execFileSync(process.execPath, ["examples/readme.ts"], { cwd: packageDir, encoding: "utf8" })
  const printed = JSON.parse(stdout)
  assert.strictEqual(printed.rowsCompleted, 6)
  assert.strictEqual(printed.rowsDropped, 0)
  assert.strictEqual(printed.maxRequestWaiters, 0)
  assert.deepStrictEqual(printed.checkpoints.map((rows: ReadonlyArray<unknown>) => rows.length), [3, 3])
  assert.deepStrictEqual(printed.checkpoints[0][1], {
    topic: "tents",
    review: "Sturdy and dry, a great buy.",
    verdict: "positive"
  })
  assert.strictEqual(printed.checkpoints[1][0].verdict, "neutral")
})
