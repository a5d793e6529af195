/**
 * Every file in examples/ runs as a user would run it: plain `node <file>` (Node 22 strips the types), importing
 * this package by its published name (the built dist/), against a local mock provider. It must exit 0 and print
 * what the README says it prints.
 */
import { execFile } from "node:child_process"
import { existsSync, readdirSync } from "node:fs"
import { fileURLToPath } from "node:url"
import { assert, beforeAll, describe, it } from "vitest"

const directory = fileURLToPath(new URL("../", import.meta.url))
// Node 22 or later strips types; the workspace pins one (node_modules/.bin/node) for machines whose node is older.
const pinned = fileURLToPath(new URL("../../../node_modules/.bin/node", import.meta.url))
const node = Number(process.versions.node.split(".")[0]) >= 22 || !existsSync(pinned) ? process.execPath : pinned
const examples = readdirSync(new URL("../examples/", import.meta.url)).filter((name) => name.endsWith(".ts"))

interface Ran {
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
}

const run = (name: string): Promise<Ran> =>
  new Promise((resolve) => {
    execFile(node, [`examples/${name}`], { cwd: directory, timeout: 60_000 }, (error, stdout, stderr) =>
      resolve({ code: error === null ? 0 : (error as { code?: number }).code ?? null, stdout, stderr }))
  })

const ran = new Map<string, Ran>()
beforeAll(async () => {
  for (const name of examples) ran.set(name, await run(name))
}, 120_000)

/** The JSON a line `label: [...]` of an example's output carries. */
const printed = (name: string, label: string): unknown => {
  const line = ran.get(name)!.stdout.split("\n").find((l) => l.startsWith(`${label}: `))
  assert.isDefined(line, `${name} printed no "${label}:" line`)
  return JSON.parse(line!.slice(label.length + 2))
}

describe("examples/", () => {
  it("has examples", () => assert.includeMembers(examples, ["readme.ts", "adapters.ts"]))

  for (const name of examples) {
    it(`node examples/${name} exits 0`, () => {
      const { code, stdout, stderr } = ran.get(name)!
      assert.strictEqual(code, 0, `exit code ${code}\n${stdout}\n${stderr}`)
    })
  }

  it("readme.ts classifies a rate limit, an exhausted quota and a 503", () => {
    assert.deepStrictEqual(JSON.parse(ran.get("readme.ts")!.stdout), [
      { tag: "ModelRateLimitError", policy: "preserve", preserved: true, retryAfterSeconds: 2 },
      { tag: "ModelQuotaExceededError", policy: "fail", preserved: false, retryAfterSeconds: 2 },
      { tag: "ModelInternalServerError", policy: "retry", preserved: false }
    ])
  })

  it("adapters.ts: each SDK's 429 is a rate limit with its Retry-After; a cut-off object is malformed", () => {
    const rateLimited = {
      tag: "ModelRateLimitError",
      policy: "preserve",
      retryAfterSeconds: 2,
      message:
        "Model 'mock-writer' on provider 'local' failed: Rate limit reached: the mock provider serves at most 1 concurrent requests."
    }
    for (const sdk of ["openai-node", "AI SDK", "effect/ai"]) {
      const results = printed("adapters.ts", sdk) as Array<unknown>
      assert.deepStrictEqual(results, [{ answered: true }, rateLimited, rateLimited], sdk)
    }
    const cutOff = printed("adapters.ts", "cut off") as { tag: string; policy: string; message: string }
    assert.deepStrictEqual([cutOff.tag, cutOff.policy], ["ModelMalformedResponseError", "retry"])
    assert.include(cutOff.message, "cut off at its token limit")
  })
})
