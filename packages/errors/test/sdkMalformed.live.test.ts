import { createOpenAICompatible } from "@ai-sdk/openai-compatible"
import { assert, describe, it } from "@effect/vitest"
import { generateText, NoObjectGeneratedError, Output } from "ai"
import { Effect, Schema } from "effect"
import { AiError } from "effect/ai"
import { FetchHttpClient, HttpClient, HttpClientRequest } from "effect/http"
import { createServer } from "node:http"
import type { AddressInfo } from "node:net"
import { afterAll, beforeAll } from "vitest"
import { z } from "zod"
import { providerErrorFromSdk, retryPolicyOf, toModelError } from "../src/index.js"

// A provider that answers 200 with something that is not a usable answer: the SDKs' parse and validation errors
// must come out as `malformed_response` (a bounded retry), not as an unclassified `api_error`.

const completion = (content: string) =>
  JSON.stringify({
    id: "chatcmpl-1",
    object: "chat.completion",
    created: 1_700_000_000,
    model: "m",
    choices: [{ index: 0, message: { role: "assistant", content }, finish_reason: "stop" }],
    usage: { prompt_tokens: 3, completion_tokens: 2, total_tokens: 5 }
  })

const answers: Record<string, string> = {
  "not-json": "<html>upstream maintenance page</html>",
  "no-choices": JSON.stringify({ id: "chatcmpl-1", object: "chat.completion" }),
  prose: completion("Hello there!"),
  "wrong-shape": completion("{\"name\": 3}")
}

let baseUrl = ""
const server = createServer((request, response) => {
  let body = ""
  request.on("data", (chunk: Buffer) => (body += chunk.toString("utf8")))
  request.on("end", () => {
    const model = (JSON.parse(body) as { model: string }).model
    response.writeHead(200, { "content-type": "application/json" })
    response.end(answers[model] ?? completion("ok"))
  })
})
beforeAll(() =>
  new Promise<void>((resolve) =>
    server.listen(0, "127.0.0.1", () => {
      baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`
      resolve()
    })
  )
)
afterAll(() =>
  new Promise<void>((resolve) => {
    server.closeAllConnections()
    server.close(() => resolve())
  })
)

const Person = z.object({ name: z.string() })
const identity = (model: string) => ({ provider: "fake", model })

/** What the call threw, classified; a success fails the test. */
const classified = (model: string, call: () => Promise<unknown>) =>
  Effect.tryPromise({ try: call, catch: (error) => error }).pipe(
    Effect.flip,
    Effect.orDie,
    Effect.flatMap((error) => providerErrorFromSdk(error, identity(model)))
  )

describe("the AI SDK's answers it could not use are malformed_response", () => {
  const sdk = () => createOpenAICompatible({ name: "fake", baseURL: baseUrl, apiKey: "sk-test" })
  const cases: ReadonlyArray<readonly [string, boolean, string, string]> = [
    // model, structured output?, what the SDK threw (cause), message start
    ["not-json", false, "AI_JSONParseError", "Invalid JSON response: JSON parsing failed"],
    ["no-choices", false, "AI_TypeValidationError", "Invalid JSON response: Type validation failed"],
    ["prose", true, "AI_JSONParseError", "No object generated: could not parse the response: JSON parsing failed"],
    [
      "wrong-shape",
      true,
      "AI_TypeValidationError",
      "No object generated: response did not match schema: Type validation"
    ]
  ]
  for (const [model, structured, causeName, message] of cases) {
    it.effect(`${model}${structured ? " (Output.object)" : ""}`, () =>
      Effect.gen(function*() {
        const error = yield* classified(model, () =>
          generateText({
            model: sdk().chatModel(model),
            prompt: "Name a person.",
            maxRetries: 0,
            ...(structured ? { output: Output.object({ schema: Person }) } : {})
          }))
        assert.strictEqual(error.kind, "malformed_response")
        assert.isTrue(error.message.startsWith(message), error.message)
        assert.strictEqual((error.cause as Error & { cause?: Error }).cause?.name, causeName)
        const modelError = toModelError(error)
        assert.strictEqual(modelError._tag, "ModelMalformedResponseError")
        // The model error's first line carries what the SDK found wrong with the answer.
        assert.include(modelError.message.split("\n")[0], message)
        assert.strictEqual(retryPolicyOf(modelError), "retry")
      }))
  }
})

it.effect("an object cut off by its token limit says so, and what to do", () =>
  Effect.gen(function*() {
    const error = yield* providerErrorFromSdk(
      new NoObjectGeneratedError({
        message: "No object generated: could not parse the response.",
        text: "{\"name\": \"Ad",
        response: { id: "r", timestamp: new Date(0), modelId: "m" },
        usage: { inputTokens: 3, outputTokens: 3, totalTokens: 6 } as never,
        finishReason: "length"
      }),
      identity("m")
    )
    assert.strictEqual(error.kind, "malformed_response")
    assert.include(error.message, "cut off at its token limit")
    assert.include(toModelError(error).message.split("\n")[0], "raise maxOutputTokens")
  }))

describe("effect/ai's invalid responses and outputs are malformed_response", () => {
  const ChatCompletion = Schema.Struct({
    choices: Schema.NonEmptyArray(Schema.Struct({ message: Schema.Struct({ content: Schema.String }) }))
  })
  const PersonSchema = Schema.Struct({ name: Schema.String })

  /** A structured call as an `effect/ai` provider makes it: each failure is the `AiError` reason it would raise. */
  const structuredCall = (model: string) =>
    Effect.gen(function*() {
      const client = yield* HttpClient.HttpClient
      const response = yield* client.execute(
        HttpClientRequest.post(`${baseUrl}/chat/completions`).pipe(
          HttpClientRequest.bodyJsonUnsafe({ model, messages: [{ role: "user", content: "Name a person." }] })
        )
      ).pipe(Effect.orDie)
      const text = yield* Effect.orDie(response.text)
      const json = yield* Effect.try({ try: () => JSON.parse(text) as unknown, catch: () => "not json" }).pipe(
        Effect.mapError(() => new AiError.InvalidResponseError({ description: `Not JSON: ${text.slice(0, 40)}` }))
      )
      const body = yield* Schema.decodeUnknownEffect(ChatCompletion)(json).pipe(
        Effect.mapError(AiError.InvalidResponseError.fromSchemaError)
      )
      const content = body.choices[0].message.content
      return yield* Schema.decodeUnknownEffect(Schema.fromJsonString(PersonSchema))(content).pipe(
        Effect.mapError((error) => AiError.StructuredOutputError.fromSchemaError(error, content))
      )
    }).pipe(
      Effect.mapError((reason) => AiError.make({ module: "OpenAiCompatible", method: "generateObject", reason })),
      Effect.provide(FetchHttpClient.layer)
    )

  for (
    const [model, reason] of [
      ["not-json", "InvalidResponseError"],
      ["no-choices", "InvalidResponseError"],
      ["prose", "StructuredOutputError"],
      ["wrong-shape", "StructuredOutputError"]
    ] as const
  ) {
    it.effect(`${model} → ${reason}`, () =>
      Effect.gen(function*() {
        const thrown = yield* Effect.flip(structuredCall(model))
        assert.strictEqual(thrown.reason._tag, reason)
        const error = yield* providerErrorFromSdk(thrown, identity(model))
        assert.strictEqual(error.kind, "malformed_response")
        assert.strictEqual(toModelError(error)._tag, "ModelMalformedResponseError")
      }))
  }

  it.effect("InvalidOutputError too", () =>
    Effect.gen(function*() {
      const reason = new AiError.InvalidOutputError({ description: "Expected a string but received a number" })
      const error = yield* providerErrorFromSdk(AiError.make({ module: "m", method: "x", reason }), identity("m"))
      assert.deepStrictEqual([error.kind, error.message], [
        "malformed_response",
        "Expected a string but received a number"
      ])
    }))
})
