/**
 * The README's code is the examples' code: each block between `<!-- example: examples/<name>.ts -->` and
 * `<!-- /example -->` (blank lines around the fence allowed) is that file, verbatim, and every file in examples/
 * is shown.
 */
import { readdirSync, readFileSync } from "node:fs"
import { assert, it } from "vitest"

const read = (path: string) => readFileSync(new URL(path, import.meta.url), "utf8")

const embedded = (readme: string): Map<string, string> => {
  const blocks = new Map<string, string>()
  for (const match of readme.matchAll(/<!-- example: (\S+) -->\n+```ts\n([\s\S]*?)```\n+<!-- \/example -->/g)) {
    blocks.set(match[1]!, match[2]!)
  }
  return blocks
}

it("every README example block is its file, verbatim", () => {
  const blocks = embedded(read("../README.md"))
  const files = readdirSync(new URL("../examples/", import.meta.url)).filter((name) => name.endsWith(".ts"))
  assert.deepStrictEqual([...blocks.keys()].sort(), files.map((name) => `examples/${name}`).sort())
  for (const [path, block] of blocks) assert.strictEqual(block, read(`../${path}`), path)
})
