import { assert, it } from "@effect/vitest"
import { ProviderError } from "@sluice/errors"
import { Effect, Exit } from "effect"
import { RequestAdmission } from "../src/index.js"
import { controller } from "./helpers.js"
import { callOnce } from "./support/controller.js"

it.effect("direct use of the controller releases with the call's outcome", () =>
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
