import { assert, it } from "@effect/vitest"
import { Effect } from "effect"
import { readFileSync } from "node:fs"
import { program } from "../examples/readme.js"

const readme = readFileSync(new URL("../README.md", import.meta.url), "utf8")
const example = readFileSync(new URL("../examples/readme.ts", import.meta.url), "utf8")

it.live("the README example: one slot, three requests at once, one answer and two 429s", () =>
  Effect.gen(function*() {
    const result = yield* program
    const shown = JSON.parse(/This file is `examples\/readme\.ts`[^\n]*\n\n```json\n([\s\S]*?)```/.exec(readme)![1]!)
    assert.deepStrictEqual(result, shown)
    assert.deepStrictEqual(result.statuses, [200, 429, 429])
    assert.strictEqual(result.choice?.finish_reason, "length")
  }))

it("the README shows examples/readme.ts (after its header comment)", () => {
  const body = example.split("\n").slice(2).join("\n")
  assert.include(readme, "```ts\n" + body + "```")
})
