import { Effect } from "effect"
import { HttpBody, HttpClient } from "effect/http"
import { TestClock } from "effect/testing"

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

/**
 * Probes until `done` holds, waiting 5 ms of real time between probes without moving the TestClock (sockets and
 * server fibers run meanwhile). Gives up after 2,000 probes, so a broken test fails instead of hanging.
 */
export const until = <A, E, R>(what: string, probe: Effect.Effect<A, E, R>, done: (value: A) => boolean) =>
  Effect.gen(function*() {
    for (let i = 0; i < 2000; i++) {
      const value = yield* probe
      if (done(value)) return value
      yield* TestClock.withLive(Effect.sleep("5 millis"))
    }
    return yield* Effect.die(new Error(`gave up waiting: ${what}`))
  })

export const eventually = (what: string, condition: () => boolean) =>
  Effect.asVoid(until(what, Effect.sync(condition), (ok) => ok))
