import { assert, it } from "@effect/vitest"
import { execFileSync } from "node:child_process"
import { readFileSync } from "node:fs"
import { fileURLToPath } from "node:url"

// The README's examples, run as a user runs them: plain node, the package imported by its published name
// (resolved to the built dist/), in a directory of their own (relative paths: out/, examples/reviews.yaml).
const packageDir = fileURLToPath(new URL("..", import.meta.url))
const readme = readFileSync(new URL("../README.md", import.meta.url), "utf8")
const run = (file: string) => execFileSync(process.execPath, [file], { cwd: packageDir, encoding: "utf8" })

it("`node examples/generate.ts` generates the reviews and prints what the README shows", () => {
  const stdout = run("examples/generate.ts")
  assert.strictEqual(
    stdout,
    "generating 40 rows into out/example-reviews/\ncompleted: 40/40 rows on disk\n[ 'product', 'review' ]\n"
  )
  assert.include(readme, "```\n" + stdout + "```")
}, 60_000)

it("`node examples/generate-effect.ts` generates from the config file as an Effect", () => {
  assert.strictEqual(run("examples/generate-effect.ts"), "completed: 20/20 rows on disk\n")
}, 60_000)
