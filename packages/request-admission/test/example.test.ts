import { assert, it } from "@effect/vitest"
import { ProviderError } from "@sluice/errors"
import { Effect, Fiber, Random } from "effect"
import { TestClock } from "effect/testing"
import { AdmissionLive, type ChatClient, completeAll, fromOpenAI, model, provider } from "./support/openaiEffect.js"
import { RequestAdmission } from "../src/index.js"

/** A fake endpoint that really serves 12 at a time: beyond that it answers 429 with Retry-After 1. */
const fakeEndpoint = () => {
  let inFlight = 0
  let maxInFlight = 0
  let rejected = 0
  let served = 0
  const complete = (prompt: string) =>
    Effect.suspend(() => {
      if (inFlight >= 12) {
        rejected++
        return Effect.fail(
          new ProviderError({
            kind: "rate_limit",
            message: "Too many requests",
            provider,
            model,
            status: 429,
            retryAfterSeconds: 1
          })
        )
      }
      inFlight++
      maxInFlight = Math.max(maxInFlight, inFlight)
      return Effect.flatMap(Random.nextIntBetween(50, 150), (ms) => Effect.sleep(ms)).pipe(
        Effect.as(`answer to ${prompt}`),
        Effect.ensuring(Effect.sync(() => {
          inFlight--
          served++
        }))
      )
    })
  return { complete, stats: () => ({ maxInFlight, rejected, served }) }
}

it.effect(
  "the README example answers every prompt and finds the endpoint's real capacity",
  () =>
    Effect.gen(function*() {
      const endpoint = fakeEndpoint()
      const prompts = Array.from({ length: 400 }, (_, i) => `prompt ${i}`)
      // 429s are the scheduler's to retry: here the caller retries them, as a scheduler would
      const fiber = yield* Effect.forkChild(
        Effect.forEach(
          prompts,
          (prompt) =>
            completeAll(endpoint.complete, [prompt]).pipe(
              Effect.retry({ while: (e) => e._tag === "ModelRateLimitError" })
            ),
          { concurrency: "unbounded" }
        ),
        { startImmediately: true }
      )
      for (let i = 0; i < 600 && fiber.pollUnsafe() === undefined; i++) yield* TestClock.adjust("100 millis")
      const answers = (yield* Fiber.join(fiber)).flat()
      assert.strictEqual(answers.length, 400)
      assert.strictEqual(answers[7], "answer to prompt 7")
      const stats = endpoint.stats()
      assert.strictEqual(stats.served, 400)
      // AIMD found the hidden capacity: few 429s for 400 requests
      assert.isBelow(stats.rejected, 40, JSON.stringify(stats))
      const view = yield* RequestAdmission.use((a) => a.inspect)
      assert.strictEqual(view.activeLeases, 0)
      assert.strictEqual(view.waiters, 0)
    }).pipe(Effect.provide(AdmissionLive)),
  30_000
)

it.effect("fromOpenAI turns an openai-node style 429 into a rate limit with its Retry-After", () =>
  Effect.gen(function*() {
    const client: ChatClient = {
      chat: {
        completions: {
          create: (body) =>
            body.messages[0]!.content === "busy"
              ? Promise.reject(
                Object.assign(new Error("Rate limit reached"), { status: 429, headers: { "retry-after": "2" } })
              )
              : Promise.resolve({ choices: [{ message: { content: "hi" } }] })
        }
      }
    }
    const complete = fromOpenAI(client)
    assert.strictEqual(yield* complete("hello"), "hi")
    const error = yield* Effect.flip(complete("busy"))
    assert.strictEqual(error.kind, "rate_limit")
    assert.strictEqual(error.retryAfterSeconds, 2)
    const failed = yield* Effect.flip(completeAll(complete, ["busy"]))
    assert.strictEqual(failed._tag, "ModelRateLimitError")
    const pressure = yield* RequestAdmission.use((a) => a.pressure({ provider, model, domain: "chat" }))
    assert.strictEqual(pressure.cooldownRemainingMs, 2000)
  }).pipe(Effect.provide(AdmissionLive)))
