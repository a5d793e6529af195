import { assert } from "@effect/vitest"
import { Effect } from "effect"
import type { ResourceValidationError } from "../src/index.js"

/** Runs `effect`, expects a `ResourceValidationError` on `field` whose message contains `message`. */
export const expectInvalid = <A>(
  effect: Effect.Effect<A, ResourceValidationError>,
  field: string,
  message: string
) =>
  Effect.gen(function*() {
    const error = yield* Effect.flip(effect)
    assert.strictEqual(error._tag, "ResourceValidationError")
    assert.strictEqual(error.field, field)
    assert.include(error.message, message)
    return error
  })
