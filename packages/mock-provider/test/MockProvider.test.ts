import { NodeHttpClient } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { Ajv } from "ajv"
import { Effect, Exit, Fiber, Scope } from "effect"
import { TestClock, TestConsole } from "effect/testing"
import { countTokens, runMockProviderForever, startMockProvider } from "../src/index.js"
import { chatBody, contentOf, eventually, getJson, postChat, until } from "./helpers.js"

// One undici dispatcher per test, destroyed when the test ends (no sockets outlive it).
const live = <A, E, R>(effect: Effect.Effect<A, E, R>) => effect.pipe(Effect.provide(NodeHttpClient.layerUndici))

const finished = <A, E>(fibers: ReadonlyArray<Fiber.Fiber<A, E>>) => fibers.filter((f) => f.pollUnsafe() !== undefined)

/** Lets the sockets and the server's fibers run (real time) without moving the TestClock. */
const settle = TestClock.withLive(Effect.sleep("50 millis"))

describe("mock provider: admission", () => {
  // On the TestClock: a request's latency passes only when the test moves the clock, so "answered at once" and
  // "answered after its latency" are orders of events, not wall-clock durations.
  it.effect("serves at most `capacity` at once; the rest get 429 with Retry-After at once, not queued", () =>
    live(Effect.gen(function*() {
      const provider = yield* startMockProvider({
        capacity: 4,
        latencyMs: { min: 400, max: 400 },
        retryAfterSeconds: 3
      })
      const requests = yield* Effect.forEach(
        Array.from({ length: 9 }, (_, i) => i),
        (i) => Effect.forkChild(postChat(provider.url, chatBody(`request ${i}`)), { startImmediately: true })
      )
      // Five answers come back while the clock stands still: the refused ones, not waiting for a slot.
      yield* eventually("five answers before any latency passed", () => finished(requests).length === 5)
      for (const answer of yield* Effect.forEach(finished(requests), Fiber.join)) {
        assert.strictEqual(answer.status, 429)
        assert.strictEqual(answer.retryAfter, "3")
      }
      assert.deepInclude(yield* provider.stats, { served: 0, inFlight: 4, rejected429: 5, rejectedCapacity: 5 })
      // The admitted four are answered after their 400 ms, not a millisecond before.
      yield* TestClock.adjust("399 millis")
      yield* settle
      assert.strictEqual(finished(requests).length, 5)
      yield* TestClock.adjust("1 millis")
      const answers = yield* Effect.forEach(requests, Fiber.join)
      assert.deepStrictEqual(answers.map((a) => a.status).sort(), [200, 200, 200, 200, 429, 429, 429, 429, 429])
      const stats = yield* provider.stats
      assert.strictEqual(stats.served, 4)
      assert.strictEqual(stats.rejected429, 5)
      assert.strictEqual(stats.maxConcurrent, 4)
      assert.strictEqual(stats.inFlight, 0)
      // the same numbers over HTTP
      const overHttp = (yield* getJson(provider.url.replace(/\/v1$/, "/stats"))) as Record<string, number>
      assert.deepInclude(overHttp, { served: 4, rejected429: 5, serverErrors: 0, maxConcurrent: 4 })
    })))

  it.effect("rpm: a token bucket with one second of burst answers 429 with the seconds until the next token", () =>
    live(Effect.gen(function*() {
      const provider = yield* startMockProvider({ rpm: 120, latencyMs: { min: 0, max: 0 } })
      // burst = 120 / 60 = 2 tokens, refilled at 2 per second
      const first = yield* postChat(provider.url, chatBody("a"))
      const second = yield* postChat(provider.url, chatBody("b"))
      const third = yield* postChat(provider.url, chatBody("c"))
      assert.deepStrictEqual([first.status, second.status, third.status], [200, 200, 429])
      assert.strictEqual(third.retryAfter, "1")
      yield* TestClock.adjust("499 millis")
      assert.strictEqual((yield* postChat(provider.url, chatBody("d"))).status, 429)
      yield* TestClock.adjust("1 millis")
      assert.strictEqual((yield* postChat(provider.url, chatBody("e"))).status, 200)
      const stats = yield* provider.stats
      assert.strictEqual(stats.rejectedRpm, 2)
      assert.strictEqual(stats.rejected429, 2)
      assert.strictEqual(stats.served, 3)
      // a took a slot of the first wave; b took the slot a freed at once, e the one b freed 500 ms earlier
      assert.strictEqual(stats.slotHandOver.startupCount, 1)
      assert.strictEqual(stats.slotHandOver.count, 2)
      assert.strictEqual(stats.slotHandOver.p50Micros, 0.1)
      assert.closeTo(stats.slotHandOver.p90Micros, 500_000, 500_000 * 0.012)
    })))

  it.live("server errors: about serverErrorRate of 200 requests, both 500 and 503, the same for the same seed", () =>
    live(Effect.gen(function*() {
      const run = (seed: number) =>
        Effect.scoped(Effect.gen(function*() {
          const provider = yield* startMockProvider({ serverErrorRate: 0.3, latencyMs: { min: 0, max: 1 }, seed })
          const answers = yield* Effect.forEach(
            Array.from({ length: 200 }, (_, i) => i),
            (i) => postChat(provider.url, chatBody(`row ${i}`)),
            { concurrency: 1 }
          )
          return { statuses: answers.map((a) => a.status), stats: yield* provider.stats }
        }))
      const a = yield* run(11)
      const b = yield* run(11)
      const errors = a.statuses.filter((s) => s !== 200)
      assert.isAtLeast(errors.length, 40)
      assert.isAtMost(errors.length, 80)
      assert.isTrue(errors.includes(500) && errors.includes(503))
      assert.isTrue(errors.every((s) => s === 500 || s === 503))
      assert.strictEqual(a.stats.serverErrors, errors.length)
      assert.strictEqual(a.stats.served, 200 - errors.length)
      assert.deepStrictEqual(a.statuses, b.statuses)
    })))

  it.effect("timeoutRate: the request is never answered and holds its slot until the client gives up", () =>
    live(Effect.gen(function*() {
      const provider = yield* startMockProvider({ timeoutRate: 1, capacity: 1 })
      const hanging = yield* Effect.forkChild(postChat(provider.url, chatBody("hang")), { startImmediately: true })
      yield* until("the request is in service", provider.stats, (s) => s.inFlight === 1)
      // an hour later it is still in service and still holds the only slot
      yield* TestClock.adjust("1 hour")
      assert.isUndefined(hanging.pollUnsafe())
      assert.strictEqual((yield* postChat(provider.url, chatBody("another"))).status, 429)
      // the client hangs up: the server sees the connection close and frees the slot
      yield* Fiber.interrupt(hanging)
      const stats = yield* until("the slot is freed", provider.stats, (s) => s.inFlight === 0)
      assert.deepInclude(stats, { timeouts: 1, abandoned: 1, served: 0, rejected429: 1 })
    })))

  it.effect("closes at once while a timeoutRate request hangs: port released, no sockets left open", () => {
    const tcpHandles = () => process.getActiveResourcesInfo().filter((name) => name.startsWith("TCP")).length
    let handlesBefore = 0
    return live(Effect.gen(function*() {
      handlesBefore = tcpHandles()
      const scope = yield* Scope.make()
      const provider = yield* startMockProvider({ timeoutRate: 1 }).pipe(Scope.provide(scope))
      const hanging = yield* Effect.forkChild(Effect.exit(postChat(provider.url, chatBody("hang"))), {
        startImmediately: true
      })
      yield* until("the request is in service", provider.stats, (s) => s.inFlight === 1)
      // The clock stands still, so the server's graceful-shutdown timeout cannot fire: the close completes only
      // because the server cuts its connections itself (without that, this waits for the hung request forever).
      const closing = yield* Effect.forkChild(Scope.close(scope, Exit.void), { startImmediately: true })
      yield* eventually("the scope closed", () => closing.pollUnsafe() !== undefined)
      const clientExit = yield* Fiber.join(hanging)
      assert.isTrue(Exit.isFailure(clientExit))
      const after = yield* Effect.exit(postChat(provider.url, chatBody("again")))
      assert.isTrue(Exit.isFailure(after))
    })).pipe(
      // after the server's scope and the client's dispatcher are both closed, no TCP handle is left behind
      // (at most as many as before: handles of an earlier test may still be closing)
      Effect.andThen(eventually("the TCP handles are gone", () => tcpHandles() <= handlesBefore))
    )
  })
})

describe("mock provider: content", () => {
  it.live("is a deterministic function of (seed, model, prompt), in chat-completions shape with usage", () =>
    live(Effect.gen(function*() {
      const fast = { latencyMs: { min: 0, max: 0 } }
      const one = yield* startMockProvider({ ...fast, seed: 7 })
      const two = yield* startMockProvider({ ...fast, seed: 7 })
      const other = yield* startMockProvider({ ...fast, seed: 8 })
      const prompt = "Write a short review of waterproof hiking tents for families."
      const a = yield* postChat(one.url, chatBody(prompt))
      yield* postChat(two.url, chatBody("something else first, to shift the draw stream"))
      const b = yield* postChat(two.url, chatBody(prompt))
      const c = yield* postChat(other.url, chatBody(prompt))
      assert.deepStrictEqual(a.body, b.body)
      assert.notStrictEqual(contentOf(a), contentOf(c))
      const body = a.body as any
      assert.strictEqual(body.object, "chat.completion")
      assert.strictEqual(body.model, "mock-writer")
      assert.strictEqual(body.choices[0].message.role, "assistant")
      assert.strictEqual(body.choices[0].finish_reason, "stop")
      assert.match(contentOf(a), /tents|hiking|waterproof|review|families/)
      assert.isAbove(body.usage.prompt_tokens, 0)
      assert.isAbove(body.usage.completion_tokens, 0)
      assert.strictEqual(body.usage.total_tokens, body.usage.prompt_tokens + body.usage.completion_tokens)
      const models = (yield* getJson(`${one.url}/models`)) as any
      assert.isTrue(models.data.some((m: { id: string }) => m.id === "mock-writer"))
    })))

  it.live("response_format json_schema: the content is JSON that validates; json_object: a JSON object", () =>
    live(Effect.gen(function*() {
      const provider = yield* startMockProvider({ latencyMs: { min: 0, max: 0 } })
      const schema = {
        type: "object",
        properties: {
          verdict: { type: "string", enum: ["buy", "skip"] },
          stars: { type: "integer", minimum: 1, maximum: 5 },
          pros: { type: "array", items: { type: "string" }, minItems: 2 },
          seller: {
            type: "object",
            properties: { name: { type: "string" }, verified: { type: "boolean" } },
            required: ["name"]
          }
        },
        required: ["verdict", "stars", "pros", "seller"],
        additionalProperties: false
      }
      const validate = new Ajv({ strict: false }).compile(schema)
      for (const topic of ["shoes", "tents", "lamps"]) {
        const answer = yield* postChat(
          provider.url,
          chatBody(`Judge the review of ${topic}.`, {
            response_format: { type: "json_schema", json_schema: { name: "verdict", strict: true, schema } }
          })
        )
        const parsed = JSON.parse(contentOf(answer))
        assert.isTrue(validate(parsed), JSON.stringify(validate.errors))
      }
      const object = yield* postChat(provider.url, chatBody("Anything", { response_format: { type: "json_object" } }))
      assert.isObject(JSON.parse(contentOf(object)))
    })))

  it.live("a malformed request gets 400 and does not count as served", () =>
    live(Effect.gen(function*() {
      const provider = yield* startMockProvider({ latencyMs: { min: 0, max: 0 } })
      const answer = yield* postChat(provider.url, { prompt: "no messages" })
      assert.strictEqual(answer.status, 400)
      const stats = yield* provider.stats
      assert.strictEqual(stats.badRequests, 1)
      assert.strictEqual(stats.served, 0)
      assert.strictEqual(stats.inFlight, 0)
    })))

  it.live("max_tokens cuts an answer at exactly that many tokens, with finish_reason length; /stats sums usage", () =>
    live(Effect.gen(function*() {
      const provider = yield* startMockProvider({ latencyMs: { min: 0, max: 0 } })
      const full = (yield* postChat(provider.url, chatBody("Describe lamps in detail"))).body as any
      const fullTokens = full.usage.completion_tokens
      assert.strictEqual(full.choices[0].finish_reason, "stop")
      assert.strictEqual(fullTokens, countTokens(full.choices[0].message.content))
      let prompt = full.usage.prompt_tokens
      let completion = fullTokens
      for (const limit of [1, 3, fullTokens - 1, fullTokens, fullTokens + 5]) {
        const body = (yield* postChat(provider.url, chatBody("Describe lamps in detail", { max_tokens: limit })))
          .body as any
        const cut = limit < fullTokens
        assert.strictEqual(body.choices[0].finish_reason, cut ? "length" : "stop", `max_tokens ${limit}`)
        assert.strictEqual(body.usage.completion_tokens, Math.min(limit, fullTokens), `max_tokens ${limit}`)
        assert.strictEqual(countTokens(body.choices[0].message.content), body.usage.completion_tokens)
        assert.isTrue(full.choices[0].message.content.startsWith(body.choices[0].message.content))
        prompt += body.usage.prompt_tokens
        completion += body.usage.completion_tokens
      }
      // Structured answers are cut too (and are then not valid JSON, as with a real provider).
      const json = (yield* postChat(
        provider.url,
        chatBody("Describe lamps", {
          max_completion_tokens: 1,
          response_format: { type: "json_schema", json_schema: { name: "x", schema: { type: "object" } } }
        })
      )).body as any
      assert.strictEqual(json.choices[0].finish_reason, "length")
      assert.strictEqual(json.usage.completion_tokens, 1)
      prompt += json.usage.prompt_tokens
      completion += json.usage.completion_tokens
      const stats = yield* provider.stats
      assert.strictEqual(stats.promptTokens, prompt)
      assert.strictEqual(stats.completionTokens, completion)
    })))

  it.live("rejects invalid options with a typed error naming the field", () =>
    Effect.gen(function*() {
      const error = yield* startMockProvider({ capacity: 0, latencyMs: { min: 5, max: 1 } }).pipe(
        Effect.scoped,
        Effect.flip
      )
      assert.strictEqual(error._tag, "MockProviderError")
      assert.strictEqual(error.reason, "InvalidOptions")
      assert.include(error.message, "capacity")
      assert.include(error.message, "latencyMs")
    }))

  it.live("runMockProviderForever prints the URL, serves until interrupted, then closes", () =>
    live(Effect.gen(function*() {
      const fiber = yield* Effect.forkChild(runMockProviderForever({ latencyMs: { min: 0, max: 0 }, seed: 3 }), {
        startImmediately: true
      })
      let lines: ReadonlyArray<unknown> = []
      while (lines.length === 0) {
        yield* Effect.sleep("10 millis")
        lines = yield* TestConsole.logLines
      }
      const url = String(lines[0]).match(/http:\/\/127\.0\.0\.1:\d+\/v1/)?.[0]
      assert.isDefined(url)
      assert.strictEqual((yield* postChat(url!, chatBody("hello"))).status, 200)
      yield* Fiber.interrupt(fiber)
      assert.isTrue(Exit.isFailure(yield* Effect.exit(postChat(url!, chatBody("hello")))))
    })).pipe(Effect.provide(TestConsole.layer)))
})
