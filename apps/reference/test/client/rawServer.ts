import { Effect } from "effect"
import { createServer, type IncomingMessage, type ServerResponse } from "node:http"
import type { AddressInfo } from "node:net"

/**
 * A loopback `node:http` server driven by a plain handler, for byte-level answers an Effect server does not give:
 * a body split mid-character, a body cut off mid-way. It counts the sockets open to it, so a test can see the
 * client's pool close. Closed with the test's scope.
 */
export const startRawServer = (handler: (request: IncomingMessage, response: ServerResponse) => void) =>
  Effect.acquireRelease(
    Effect.callback<{ readonly origin: string; readonly openSockets: () => number; readonly close: () => void }>(
      (resume) => {
        let open = 0
        const server = createServer((request, response) => {
          // The request body is drained before answering, as a real server would.
          request.resume()
          request.on("end", () => handler(request, response))
        })
        server.on("connection", (socket) => {
          open++
          socket.on("close", () => {
            open--
          })
        })
        server.listen(0, "127.0.0.1", () => {
          const { port } = server.address() as AddressInfo
          resume(Effect.succeed({
            origin: `http://127.0.0.1:${port}`,
            openSockets: () => open,
            close: () => {
              server.closeAllConnections()
              server.close()
            }
          }))
        })
      }
    ),
    (server) => Effect.sync(() => server.close())
  )
