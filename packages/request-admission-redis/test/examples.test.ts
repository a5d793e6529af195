/**
 * Every file in examples/ runs as a user would run it: plain `node <file>` (Node 22 strips the types), importing
 * this package by its published name (the built dist/), against a local mock provider and its own throwaway
 * `redis-server`. It must exit 0; `shared.ts` must also show the two workers kept to the provider's capacity.
 */
import { execFile } from "node:child_process"
import { existsSync, readdirSync } from "node:fs"
import { fileURLToPath } from "node:url"
import { assert, describe, it } from "vitest"

const directory = fileURLToPath(new URL("../", import.meta.url))
// Node 22 or later strips types; the workspace pins one (node_modules/.bin/node) for machines whose node is older.
const pinned = fileURLToPath(new URL("../../../node_modules/.bin/node", import.meta.url))
const node = Number(process.versions.node.split(".")[0]) >= 22 || !existsSync(pinned) ? process.execPath : pinned
const examples = readdirSync(new URL("../examples/", import.meta.url)).filter((name) => name.endsWith(".ts"))

// The examples start their own redis-server unless REDIS_URL is set: the test keeps them on their own.
const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => key !== "REDIS_URL"))

const run = (name: string) =>
  new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    execFile(
      node,
      [`examples/${name}`],
      { cwd: directory, env, timeout: 60_000 },
      (error, stdout, stderr) =>
        resolve({ code: error === null ? 0 : (error as { code?: number }).code ?? null, stdout, stderr })
    )
  })

const number = (stdout: string, pattern: RegExp): number => {
  const match = pattern.exec(stdout)
  assert.isNotNull(match, `no ${pattern} in:\n${stdout}`)
  return Number(match![1])
}

describe("examples/", () => {
  it("has the shared example", () => assert.include(examples, "shared.ts"))
  for (const name of examples) {
    it(`node examples/${name} exits 0`, async () => {
      const { code, stdout, stderr } = await run(name)
      assert.strictEqual(code, 0, `exit code ${code}\n${stdout}\n${stderr}`)
      assert.notStrictEqual(stdout.trim(), "", "the example prints what it did")
      if (name === "shared.ts") {
        // Two workers declaring 4 each could send 8; the mock serves at most 4 and answers 429 above, so no 429
        // (and every call answered) is what shows they shared one limit. With a keyPrefix each, 429s do appear.
        assert.strictEqual(number(stdout, /answered: (\d+) of 40 calls/), 40, stdout)
        const peak = number(stdout, /peak in flight at the provider: (\d+)/)
        assert.isAtLeast(peak, 1, stdout)
        assert.isAtMost(peak, 4, stdout)
        assert.strictEqual(number(stdout, /429s: (\d+)/), 0, stdout)
      }
    }, 90_000)
  }
})
