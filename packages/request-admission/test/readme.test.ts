/**
 * The README's code is the examples' code: every TypeScript block in it appears verbatim in `examples/` (whose
 * own tests run it), with the package's import path in place of the relative one.
 */
import { assert, it } from "@effect/vitest"
import { ProviderError } from "@sluice/errors"
import { Effect, Exit } from "effect"
import { readFileSync } from "node:fs"
import { callOnce } from "../examples/controller.js"
import { RequestAdmission } from "../src/index.js"
import { controller } from "./helpers.js"

const read = (path: string) => readFileSync(new URL(path, import.meta.url), "utf8")

it("every TypeScript block of the README is in examples/", () => {
  const readme = read("../README.md")
  const examples = [read("../examples/openai.ts"), read("../examples/controller.ts")].map((source) =>
    source.replaceAll("\"../src/index.js\"", "\"@sluice/request-admission\"")
  )
  const blocks = [...readme.matchAll(/```ts\n([\s\S]*?)```/g)].map((match) => match[1]!)
  assert.isAtLeast(blocks.length, 4)
  for (const block of blocks) {
    // Each declaration (a chunk between blank lines) is verbatim in an example; import lines one by one.
    for (const chunk of block.split("\n\n")) {
      const lines = chunk.trim().split("\n")
      const imports = lines.filter((line) => line.startsWith("import "))
      const code = lines.filter((line) => !line.startsWith("import ")).join("\n")
      assert.isTrue(examples.some((source) => source.includes(code)), `not in examples/:\n${code}`)
      for (const line of imports) assert.isTrue(examples.some((source) => source.includes(line)), line)
    }
  }
})

it.effect("the README's direct use of the controller releases with the call's outcome", () =>
  Effect.gen(function*() {
    const admission = yield* RequestAdmission
    const resource = { provider: "openai", model: "gpt-4o-mini", domain: "chat" } as const
    assert.isTrue(Exit.isSuccess(yield* callOnce(Effect.succeed("hi"))))
    assert.strictEqual((yield* admission.pressure(resource)).lastOutcome, "success")
    const failed = yield* callOnce(
      Effect.fail(new ProviderError({ kind: "rate_limit", message: "slow down", provider: "openai", model: "x" }))
    )
    assert.isTrue(Exit.isFailure(failed))
    const pressure = yield* admission.pressure(resource)
    assert.strictEqual(pressure.lastOutcome, "rate_limited")
    assert.strictEqual(pressure.cooldownRemainingMs, 2000)
    assert.strictEqual((yield* admission.inspect).activeLeases, 0)
  }).pipe(
    Effect.provide(
      controller(4, { models: [{ provider: "openai", model: "gpt-4o-mini", maxParallelRequests: 4 }] })
    )
  ))
