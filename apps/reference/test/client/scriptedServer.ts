import { NodeHttpServer } from "@effect/platform-node"
import { Effect } from "effect"
import { HttpServerRequest, HttpServerResponse } from "effect/http"
import { createServer } from "node:http"
import type { AddressInfo } from "node:net"

/**
 * A loopback server for answers the mock provider never gives (it is exact by design): a 200 whose body is not
 * JSON or not a completion, a 429 with a hostile Retry-After, and a 401 that echoes the Authorization header back,
 * as careless servers do.
 */
export const startScriptedServer = Effect.gen(function*() {
  const seenAuthorization: Array<string | undefined> = []
  const app = Effect.gen(function*() {
    const request = yield* HttpServerRequest.HttpServerRequest
    const authorization = request.headers.authorization
    seenAuthorization.push(authorization)
    const route = request.url.split("/")[1]
    switch (route) {
      case "bad-json":
        return HttpServerResponse.text("<html>definitely not json", { status: 200 })
      case "wrong-shape":
        return HttpServerResponse.jsonUnsafe({ object: "chat.completion", choices: [] })
      case "huge-retry-after":
        return HttpServerResponse.jsonUnsafe(
          { error: { message: "Rate limit reached" } },
          { status: 429, headers: { "retry-after": "99999999999" } }
        )
      case "echo-request": {
        // The request as the server saw it, as the answer's content: what a client really sent.
        const body = yield* request.json.pipe(Effect.orElseSucceed(() => null))
        return HttpServerResponse.jsonUnsafe({
          choices: [{
            message: { role: "assistant", content: JSON.stringify({ body, headers: request.headers }) },
            finish_reason: "stop"
          }]
        })
      }
      case "echo-auth":
        return HttpServerResponse.jsonUnsafe(
          {
            error: { message: `Incorrect API key provided: ${authorization ?? "none"}`, type: "invalid_request_error" }
          },
          { status: 401 }
        )
      default:
        return HttpServerResponse.jsonUnsafe({
          choices: [{ message: { role: "assistant", content: null }, finish_reason: "content_filter" }]
        })
    }
  }).pipe(Effect.interruptible)
  const nodeServer = createServer()
  const server = yield* NodeHttpServer.make(() => nodeServer, { host: "127.0.0.1", port: 0 })
  yield* server.serve(app)
  yield* Effect.addFinalizer(() => Effect.sync(() => nodeServer.closeAllConnections()))
  const port = (nodeServer.address() as AddressInfo).port
  return { origin: `http://127.0.0.1:${port}`, seenAuthorization }
})
