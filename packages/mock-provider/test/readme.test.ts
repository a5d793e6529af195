import { assert, it } from "@effect/vitest"
import { execFileSync } from "node:child_process"
import { readFileSync } from "node:fs"
import { fileURLToPath } from "node:url"

const packageDir = fileURLToPath(new URL("..", import.meta.url))
const readme = readFileSync(new URL("../README.md", import.meta.url), "utf8")

it("`node examples/readme.ts`: one slot, three requests at once, one answer and two 429s, as the README shows", () => {
  // As a user runs it: plain node, the package imported by its published name (resolved to the built dist/).
  const stdout = execFileSync(process.execPath, ["examples/readme.ts"], { cwd: packageDir, encoding: "utf8" })
  const result = JSON.parse(stdout)
  const shown = JSON.parse(/`node examples\/readme\.ts` prints[^\n]*\n\n```json\n([\s\S]*?)```/.exec(readme)![1]!)
  assert.deepStrictEqual(result, shown)
  assert.deepStrictEqual(result.statuses, [200, 429, 429])
  assert.strictEqual(result.choice?.finish_reason, "length")
})
