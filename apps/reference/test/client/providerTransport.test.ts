import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber } from "effect"
import { TestClock } from "effect/testing"
import { inspect } from "node:util"
import {
  type ChatCompletionRequest,
  chatCompletion,
  OpenAiClientLayer,
  ProviderTransport,
  TransportTarget
} from "../../src/client/index.js"
import { startRawServer } from "./rawServer.js"

const live = <A, E, R>(effect: Effect.Effect<A, E, R>) => effect.pipe(Effect.provide(OpenAiClientLayer))

const requestTo = (baseUrl: string): ChatCompletionRequest => ({
  provider: "raw",
  baseUrl,
  apiKey: undefined,
  model: "raw-model",
  messages: [{ role: "user", content: "Say something." }],
  timeoutSeconds: 5
})

const content = "Zelt – Daunen · 東京"
const completionBody = Buffer.from(JSON.stringify({
  choices: [{ message: { role: "assistant", content }, finish_reason: "stop" }]
}))

/** Polls until `done` or about a second has passed; returns whether it held. */
const eventually = (done: () => boolean) =>
  Effect.gen(function*() {
    for (let i = 0; i < 100 && !done(); i++) yield* Effect.sleep("10 millis")
    return done()
  })

describe("ProviderTransport", () => {
  it.live("a body split inside a multi-byte character decodes whole", () =>
    live(Effect.gen(function*() {
      // Cut inside "東" (3 bytes in UTF-8), and send the rest later so the client reads two chunks.
      const cut = completionBody.indexOf(Buffer.from("東")) + 1
      const server = yield* startRawServer((_, response) => {
        response.writeHead(200, { "content-type": "application/json", "content-length": completionBody.length })
        response.write(completionBody.subarray(0, cut))
        setTimeout(() => response.end(completionBody.subarray(cut)), 30)
      })
      const completion = yield* chatCompletion(requestTo(`${server.origin}/v1`))
      assert.strictEqual(completion.content, content)
    })))

  it.live("a 2xx body cut off mid-way → malformed_response with the status (the provider did answer)", () =>
    live(Effect.gen(function*() {
      const server = yield* startRawServer((_, response) => {
        response.writeHead(200, { "content-type": "application/json", "content-length": 1000 })
        response.write(completionBody.subarray(0, 10))
        setTimeout(() => response.socket?.destroy(), 10)
      })
      const error = yield* Effect.flip(chatCompletion(requestTo(`${server.origin}/v1`)))
      assert.strictEqual(error.kind, "malformed_response")
      assert.strictEqual(error.status, 200)
      assert.include(error.providerMessage ?? "", "cut off after 10 bytes")
    })))

  it.live("an error answer cut off mid-way keeps its status", () =>
    live(Effect.gen(function*() {
      const server = yield* startRawServer((_, response) => {
        response.writeHead(503, { "content-type": "text/html", "content-length": 1000 })
        response.write("<html>")
        setTimeout(() => response.socket?.destroy(), 10)
      })
      const error = yield* Effect.flip(chatCompletion(requestTo(`${server.origin}/v1`)))
      assert.strictEqual(error.kind, "internal_server")
      assert.strictEqual(error.status, 503)
    })))

  it.live("a streamed 2xx body past maxResponseBytes → response_too_large; the socket is closed there", () =>
    live(Effect.gen(function*() {
      let sent = 0
      let closed = false
      const chunk = Buffer.alloc(64 * 1024, "x")
      const server = yield* startRawServer((_, response) => {
        response.writeHead(200, { "content-type": "application/json" }) // chunked: no length up front
        response.on("close", () => {
          closed = true
        })
        const pump = () => {
          while (!response.destroyed && sent < 64 * 1024 * 1024) {
            sent += chunk.length
            if (!response.write(chunk)) return void response.once("drain", pump)
          }
          response.end()
        }
        pump()
      })
      const error = yield* Effect.flip(
        chatCompletion({ ...requestTo(`${server.origin}/v1`), maxResponseBytes: 1024 * 1024 })
      )
      assert.strictEqual(error.kind, "response_too_large")
      assert.strictEqual(error.status, 200)
      assert.include(error.message, "1048576-byte cap")
      assert.isTrue(yield* eventually(() => closed))
      // Read no further: the server could push what the socket buffers hold past the cap, not the 64 MiB.
      assert.isBelow(sent, 16 * 1024 * 1024)
    })))

  it.live("a 2xx whose Content-Length is over the cap fails at once, before its body", () =>
    live(Effect.gen(function*() {
      const server = yield* startRawServer((_, response) => {
        response.writeHead(200, { "content-type": "application/json", "content-length": 100 * 1024 * 1024 })
        response.write("{")
      })
      const error = yield* Effect.flip(chatCompletion({ ...requestTo(`${server.origin}/v1`), maxResponseBytes: 4096 }))
      assert.strictEqual(error.kind, "response_too_large")
      assert.include(error.message, "104857600 bytes (Content-Length)")
    })))

  it.live("an error answer's body is kept up to 64 KiB and read no further", () =>
    live(Effect.gen(function*() {
      let closed = false
      const server = yield* startRawServer((_, response) => {
        response.writeHead(500, { "content-type": "text/plain" })
        response.on("close", () => {
          closed = true
        })
        response.write(`server exploded ${"!".repeat(200 * 1024)}`)
      })
      const error = yield* Effect.flip(chatCompletion(requestTo(`${server.origin}/v1`)))
      assert.strictEqual(error.kind, "internal_server")
      assert.include(error.message, "server exploded")
      assert.isTrue(yield* eventually(() => closed))
    })))

  it.live("a base URL that is not an absolute http(s) URL → api_error, nothing sent", () =>
    live(Effect.gen(function*() {
      for (const baseUrl of ["not a url", "ftp://127.0.0.1/v1", "/v1"]) {
        const error = yield* Effect.flip(chatCompletion(requestTo(baseUrl)))
        assert.strictEqual(error.kind, "api_error", baseUrl)
        assert.include(error.message, "invalid base URL", baseUrl)
      }
    })))

  it.live("closing the layer's scope closes its keep-alive sockets", () =>
    Effect.gen(function*() {
      const server = yield* startRawServer((_, response) => {
        response.writeHead(200, { "content-type": "application/json" })
        response.end(completionBody)
      })
      yield* live(Effect.gen(function*() {
        yield* chatCompletion(requestTo(`${server.origin}/v1`))
        // Kept alive for the next attempt while the layer lives.
        assert.strictEqual(server.openSockets(), 1)
      }))
      assert.isTrue(yield* eventually(() => server.openSockets() === 0))
    }))

  it.effect("each request fails at its own deadline on the layer's clock, a shorter one added later first", () =>
    Effect.gen(function*() {
      // A server that never answers.
      const server = yield* startRawServer(() => {})
      const transport = yield* ProviderTransport
      const target = TransportTarget.make(`${server.origin}/v1/chat/completions`, {})!
      const post = (timeoutMillis: number) =>
        Effect.forkChild(Effect.flip(transport.post(target, "{}", timeoutMillis, 1024)), { startImmediately: true })
      const long = yield* post(10_000)
      const short = yield* post(1_000)
      yield* TestClock.adjust("999 millis")
      assert.isUndefined(short.pollUnsafe())
      yield* TestClock.adjust("1 millis")
      const shortError = yield* Fiber.join(short)
      assert.strictEqual(shortError._tag, "TransportTimeout")
      assert.isUndefined(long.pollUnsafe())
      yield* TestClock.adjust("8999 millis")
      assert.isUndefined(long.pollUnsafe())
      yield* TestClock.adjust("1 millis")
      const longError = yield* Fiber.join(long)
      assert.strictEqual(longError._tag, "TransportTimeout")
      assert.deepStrictEqual(longError._tag === "TransportTimeout" ? longError.timeoutMillis : undefined, 10_000)
    }).pipe(Effect.provide(ProviderTransport.layer)))

  it("a target prints its URL, never its headers", () => {
    const key = "sk-test-0123456789abcdef"
    const target = TransportTarget.make("https://api.example.com/v1/chat/completions?x=1", {
      authorization: `Bearer ${key}`
    })
    assert.isDefined(target)
    assert.strictEqual(target!.origin, "https://api.example.com")
    assert.strictEqual(target!.path, "/v1/chat/completions?x=1")
    for (const rendering of [String(target), JSON.stringify(target), inspect(target), `${target}`]) {
      assert.notInclude(rendering, key)
      assert.include(rendering, "api.example.com")
    }
    assert.isUndefined(TransportTarget.make("mailto:someone@example.com", {}))
  })
})
