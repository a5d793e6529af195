/**
 * Every file in examples/ runs as a user would run it: plain `node <file>` (Node 22 strips the types), importing
 * this package by its published name (the built dist/), against a local mock provider. It must exit 0.
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

describe("examples/", () => {
  it("has examples", () => assert.isAtLeast(examples.length, 3))
  for (const name of examples) {
    it(`node examples/${name} exits 0`, async () => {
      const { code, stdout, stderr } = await new Promise<{ code: number | null; stdout: string; stderr: string }>(
        (resolve) => {
          execFile(
            node,
            [`examples/${name}`],
            { cwd: directory, timeout: 60_000 },
            (error, stdout, stderr) =>
              resolve({ code: error === null ? 0 : (error as { code?: number }).code ?? null, stdout, stderr })
          )
        }
      )
      assert.strictEqual(code, 0, `exit code ${code}\n${stdout}\n${stderr}`)
      assert.notStrictEqual(stdout.trim(), "", "the example prints what it did")
    }, 90_000)
  }
})
