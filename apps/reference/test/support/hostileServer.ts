import { Effect } from "effect"
import { createServer, type IncomingMessage, type ServerResponse } from "node:http"
import type { AddressInfo } from "node:net"

/**
 * How a hostile OpenAI-compatible endpoint answers every `POST …/chat/completions`:
 * - `healthy`: a valid chat completion;
 * - `unauthorized`: 401 with an OpenAI-style error body carrying `message`;
 * - `malformed`: a valid completion, except for `rate` of the answers (drawn from a generator seeded with `seed`),
 *   which are 200s with a broken body, in turn: not JSON, JSON without `choices`, JSON cut off (with a matching
 *   Content-Length), and a body cut off mid-way (the socket closed before the declared length);
 * - `rateLimited`: always 429, with `retryAfter` as the Retry-After header when given;
 * - `hugeBody`: a 200 whose body is `bytes` long, streamed in 64 KiB chunks as fast as the client reads, with or
 *   without a Content-Length;
 * - `serverError`: always `status` with an HTML body, as a gateway in front of a dead backend answers;
 * - `noText`: 200s whose message content is empty (`""`) and `null`, in turn.
 */
export type HostileMode =
  | { readonly _tag: "healthy" }
  | { readonly _tag: "unauthorized"; readonly message: string }
  | { readonly _tag: "malformed"; readonly rate: number; readonly seed: number }
  | { readonly _tag: "rateLimited"; readonly retryAfter?: string }
  | { readonly _tag: "hugeBody"; readonly bytes: number; readonly contentLength: boolean }
  /** Accepts every connection, reads every request, never answers (a hung gateway). */
  | { readonly _tag: "silent" }
  | { readonly _tag: "serverError"; readonly status: number }
  | { readonly _tag: "noText" }

export interface HostileServer {
  /** The base URL to configure (`…/v1`). */
  readonly baseUrl: string
  readonly port: number
  readonly stats: {
    /** Requests received. */
    requests: number
    /** Of which answered with a broken 200 (`malformed`). */
    malformed: number
    /** Body bytes written, over all answers. */
    bytesSent: number
    /** The most body bytes written for one answer. */
    maxBytesSentPerAnswer: number
    /** Authorization headers seen. */
    readonly authorizations: Array<string | undefined>
  }
}

// A small seeded generator (mulberry32), so a malformed run draws the same sequence every time.
const seeded = (seed: number) => {
  let state = seed >>> 0
  return () => {
    state = (state + 0x6D2B79F5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

const completion = (model: string, content: string) =>
  JSON.stringify({
    id: "chatcmpl-hostile",
    object: "chat.completion",
    model,
    choices: [{ index: 0, message: { role: "assistant", content }, finish_reason: "stop" }],
    usage: { prompt_tokens: 12, completion_tokens: 8, total_tokens: 20 }
  })

const json = (response: ServerResponse, status: number, body: string, headers: Record<string, string> = {}) => {
  response.writeHead(status, {
    "content-type": "application/json",
    "content-length": Buffer.byteLength(body),
    ...headers
  })
  response.end(body)
  return Buffer.byteLength(body)
}

/**
 * Starts a hostile endpoint on 127.0.0.1 (a random port) in the test process, for the CLI process under test to
 * call; closed, with every connection, when the test's scope closes.
 */
export const startHostileServer = (mode: HostileMode) =>
  Effect.acquireRelease(
    Effect.callback<{ readonly server: HostileServer; readonly close: () => void }>((resume) => {
      const stats: HostileServer["stats"] = {
        requests: 0,
        malformed: 0,
        bytesSent: 0,
        maxBytesSentPerAnswer: 0,
        authorizations: []
      }
      const random = mode._tag === "malformed" ? seeded(mode.seed) : () => 0
      let brokenKind = 0
      const sent = (bytes: number) => {
        stats.bytesSent += bytes
        stats.maxBytesSentPerAnswer = Math.max(stats.maxBytesSentPerAnswer, bytes)
      }
      const answer = (request: IncomingMessage, response: ServerResponse, body: string) => {
        stats.requests++
        stats.authorizations.push(request.headers.authorization)
        const model = /"model"\s*:\s*"([^"]*)"/.exec(body)?.[1] ?? "hostile-model"
        switch (mode._tag) {
          case "silent":
            return
          case "healthy":
            return sent(json(response, 200, completion(model, `An answer (${stats.requests}).`)))
          case "serverError": {
            const page = `<html><body><h1>${mode.status} Bad Gateway</h1></body></html>`
            response.writeHead(mode.status, { "content-type": "text/html", "content-length": Buffer.byteLength(page) })
            response.end(page)
            return sent(Buffer.byteLength(page))
          }
          case "noText": {
            const content = stats.requests % 2 === 0 ? null : ""
            return sent(json(
              response,
              200,
              JSON.stringify({ choices: [{ message: { role: "assistant", content }, finish_reason: "stop" }] })
            ))
          }
          case "unauthorized":
            return sent(json(
              response,
              401,
              JSON.stringify({
                error: { message: mode.message, type: "invalid_request_error", code: "invalid_api_key" }
              })
            ))
          case "rateLimited":
            return sent(json(
              response,
              429,
              JSON.stringify({ error: { message: "Rate limit reached for requests", type: "requests" } }),
              mode.retryAfter === undefined ? {} : { "retry-after": mode.retryAfter }
            ))
          case "malformed": {
            if (random() >= mode.rate) {
              return sent(json(response, 200, completion(model, `A fine answer (${stats.requests}).`)))
            }
            stats.malformed++
            const whole = completion(model, "This answer will not arrive whole.")
            switch (brokenKind++ % 4) {
              case 0:
                return sent(json(response, 200, "<html><body>502 Bad Gateway</body></html>"))
              case 1:
                return sent(json(response, 200, JSON.stringify({ id: "chatcmpl-hostile", object: "chat.completion" })))
              case 2:
                return sent(json(response, 200, whole.slice(0, Math.floor(whole.length / 2))))
              default: {
                // Declares the whole length, sends half, and hangs up.
                response.writeHead(200, { "content-type": "application/json", "content-length": whole.length })
                response.write(whole.slice(0, Math.floor(whole.length / 2)))
                sent(Math.floor(whole.length / 2))
                setTimeout(() => response.socket?.destroy(), 5)
                return
              }
            }
          }
          case "hugeBody": {
            const chunk = Buffer.alloc(64 * 1024, "a")
            response.writeHead(200, {
              "content-type": "application/json",
              ...(mode.contentLength ? { "content-length": String(mode.bytes) } : {})
            })
            let written = 0
            const pump = () => {
              while (!response.destroyed && written < mode.bytes) {
                const piece = written + chunk.length <= mode.bytes ? chunk : chunk.subarray(0, mode.bytes - written)
                written += piece.length
                if (!response.write(piece)) return void response.once("drain", pump)
              }
              if (!response.destroyed) response.end()
            }
            response.on("close", () => sent(written))
            pump()
            return
          }
        }
      }
      const server = createServer((request, response) => {
        const chunks: Array<Buffer> = []
        request.on("data", (chunk: Buffer) => chunks.push(chunk))
        request.on("end", () => answer(request, response, Buffer.concat(chunks).toString("utf8")))
      })
      server.listen(0, "127.0.0.1", () => {
        const port = (server.address() as AddressInfo).port
        resume(Effect.succeed({
          server: { baseUrl: `http://127.0.0.1:${port}/v1`, port, stats },
          close: () => {
            server.closeAllConnections()
            server.close()
          }
        }))
      })
    }),
    ({ close }) => Effect.sync(close)
  ).pipe(Effect.map(({ server }) => server))

/**
 * A port on 127.0.0.1 with nothing listening: bound to a random free port and closed again, so connecting to it is
 * refused (ECONNREFUSED) for as long as nothing else takes it.
 */
export const closedPort = Effect.callback<number>((resume) => {
  const server = createServer()
  server.listen(0, "127.0.0.1", () => {
    const port = (server.address() as AddressInfo).port
    server.close(() => resume(Effect.succeed(port)))
  })
})
