import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { readFileSync } from "node:fs"
import { program } from "../examples/readme.js"

const readme = readFileSync(new URL("../README.md", import.meta.url), "utf8")
const example = readFileSync(new URL("../examples/readme.ts", import.meta.url), "utf8")

/** The output documented in README.md. */
const documented = {
  endpoint: "together/meta%2Fllama-3",
  resources: ["submission", "llm_wait", "request:together/meta%2Fllama-3"],
  group: "model:together%2Fmeta%2Fllama-3%2Fchat/review",
  task: "cell:0:17:review",
  error: "ResourceValidationError at request[\"llm_wait\"]: Expected a positive integer, got 0"
}

describe("README example", () => {
  it.effect("produces the documented output", () =>
    Effect.gen(function*() {
      assert.deepStrictEqual(yield* program, documented)
    }))

  it.effect("README shows examples/readme.ts verbatim (importing the package) and its output", () =>
    Effect.sync(() => {
      assert.include(readme, example.replace("\"../src/index.js\"", "\"@sluice/scheduling-resources\""))
      assert.include(readme, JSON.stringify(documented, null, 2))
    }))
})
