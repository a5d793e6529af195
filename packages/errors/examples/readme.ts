// example-deps: effect@4.1.0
// The README's example: classify a provider's HTTP answer, turn it into a model error, and let the policy decide.
import { Effect } from "effect"
import { isPreservedRetryable, providerErrorFromHttp, retryPolicyOf, toModelError } from "@sluice/errors"

export const classifyAnswer = (status: number, body: string, retryAfter?: string) =>
  Effect.gen(function*() {
    const providerError = yield* providerErrorFromHttp({
      provider: "openai",
      model: "gpt-4o-mini",
      status,
      body,
      headers: retryAfter === undefined ? {} : { "retry-after": retryAfter }
    })
    const modelError = toModelError(providerError, { purpose: "generating column 'review'" })
    return {
      tag: modelError._tag,
      policy: retryPolicyOf(modelError),
      preserved: isPreservedRetryable(modelError),
      retryAfterSeconds: modelError.retryAfterSeconds
    }
  })

// A 429 is a rate limit the scheduler must retry; a 429 that says the quota is gone is not.
export const program = Effect.all([
  classifyAnswer(429, "{\"error\":{\"message\":\"Rate limit reached\"}}", "2"),
  classifyAnswer(
    429,
    "{\"error\":{\"code\":\"insufficient_quota\",\"message\":\"You exceeded your current quota\"}}",
    "2"
  ),
  classifyAnswer(503, "upstream unavailable")
])

console.log(JSON.stringify(await Effect.runPromise(program)))
