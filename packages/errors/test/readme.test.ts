import { assert, it } from "@effect/vitest"
import { Effect } from "effect"
import { program } from "../examples/readme.js"

it.effect("the README example classifies a rate limit, an exhausted quota and a 503", () =>
  Effect.gen(function*() {
    const [rateLimit, quota, unavailable] = yield* program
    assert.deepStrictEqual(rateLimit, {
      tag: "ModelRateLimitError",
      policy: "preserve",
      preserved: true,
      retryAfterSeconds: 2
    })
    assert.deepStrictEqual(quota, {
      tag: "ModelQuotaExceededError",
      policy: "fail",
      preserved: false,
      retryAfterSeconds: 2
    })
    assert.deepStrictEqual(unavailable, {
      tag: "ModelInternalServerError",
      policy: "retry",
      preserved: false,
      retryAfterSeconds: undefined
    })
  }))
