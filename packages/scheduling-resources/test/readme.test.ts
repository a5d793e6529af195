import { assert, it } from "@effect/vitest"
import { execFileSync } from "node:child_process"
import { readFileSync } from "node:fs"
import { fileURLToPath } from "node:url"

const packageDir = fileURLToPath(new URL("..", import.meta.url))
const readme = readFileSync(new URL("../README.md", import.meta.url), "utf8")

/** The output documented in README.md. */
const documented = {
  endpoint: "together/meta%2Fllama-3",
  resources: ["submission", "llm_wait", "request:together/meta%2Fllama-3"],
  group: "model:together%2Fmeta%2Fllama-3%2Fchat/review",
  task: "cell:0:17:review",
  error: "ResourceValidationError at request[\"llm_wait\"]: Expected a positive integer, got 0"
}

it("`node examples/readme.ts` prints the output the README shows", () => {
  // As a user runs it: plain node, the package imported by its published name (resolved to the built dist/).
  const stdout = execFileSync(process.execPath, ["examples/readme.ts"], { cwd: packageDir, encoding: "utf8" })
  assert.deepStrictEqual(JSON.parse(stdout), documented)
  assert.include(readme, "```json\n" + stdout + "```")
})
