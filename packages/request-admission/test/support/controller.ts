/**
 * The README's "Using the controller directly": a lease held in a scope, released with the outcome of the call.
 */
import type { ProviderError } from "@sluice/errors"
import { requestResourceKey } from "@sluice/scheduling-resources"
import { Effect, Exit } from "effect"
import { ReleaseOutcome, RequestAdmission } from "../../src/index.js"

const chat = requestResourceKey("openai", "gpt-4o-mini", "chat")

export const callOnce = Effect.fnUntraced(function*(callTheModel: Effect.Effect<string, ProviderError>) {
  const admission = yield* RequestAdmission
  // scoped: if the scope closes before `release`, the lease is released as `local_cancelled`
  const lease = yield* admission.acquire({ resource: chat, group: { key: "tenant-a", weight: 3 } })
  const exit = yield* Effect.exit(callTheModel)
  yield* admission.release(lease, Exit.isSuccess(exit) ? ReleaseOutcome.success : ReleaseOutcome.rateLimited(2))
  return exit
}, Effect.scoped)
