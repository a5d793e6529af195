import { Effect } from "effect"
import { HttpBody, HttpClient } from "effect/http"

/** One raw chat request: its status, whatever it is. */
export const postChat = (baseUrl: string, body: unknown) =>
  Effect.gen(function*() {
    const client = yield* HttpClient.HttpClient
    const response = yield* client.post(`${baseUrl}/chat/completions`, { body: HttpBody.jsonUnsafe(body) })
    yield* response.json
    return { status: response.status }
  })

export const chatBody = (prompt: string) => ({ model: "mock-writer", messages: [{ role: "user", content: prompt }] })
