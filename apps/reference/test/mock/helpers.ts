import { Effect } from "effect"
import { HttpBody, HttpClient } from "effect/http"

export interface RawAnswer {
  readonly status: number
  readonly retryAfter: string | undefined
  readonly body: unknown
}

/** One raw chat request: status, Retry-After and the parsed body, whatever the status. */
export const postChat = (baseUrl: string, body: unknown) =>
  Effect.gen(function*() {
    const client = yield* HttpClient.HttpClient
    const response = yield* client.post(`${baseUrl}/chat/completions`, { body: HttpBody.jsonUnsafe(body) })
    const json = yield* response.json
    return { status: response.status, retryAfter: response.headers["retry-after"], body: json } satisfies RawAnswer
  })

export const chatBody = (prompt: string, extra: Record<string, unknown> = {}) => ({
  model: "mock-writer",
  messages: [{ role: "user", content: prompt }],
  ...extra
})

export const contentOf = (answer: RawAnswer): string =>
  (answer.body as { readonly choices: ReadonlyArray<{ readonly message: { readonly content: string } }> }).choices[0]!
    .message.content

export const getJson = (url: string) =>
  Effect.gen(function*() {
    const client = yield* HttpClient.HttpClient
    const response = yield* client.get(url)
    return yield* response.json
  })
