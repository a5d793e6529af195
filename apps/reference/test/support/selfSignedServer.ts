import { Effect } from "effect"
import { createServer } from "node:https"
import type { AddressInfo } from "node:net"

// A self-signed certificate for "localhost" (EC P-256, valid for 100 years), made for this test only: a client
// that verifies certificates, as ours does, must refuse it.
const certificate = `-----BEGIN CERTIFICATE-----
MIIBfzCCASWgAwIBAgIUe2VBRK9Ca8TxyL7Qn2W3K1f4314wCgYIKoZIzj0EAwIw
FDESMBAGA1UEAwwJbG9jYWxob3N0MCAXDTI2MTIwNzAxMTEzMVoYDzIxMjYxMTEz
MDExMTMxWjAUMRIwEAYDVQQDDAlsb2NhbGhvc3QwWTATBgcqhkjOPQIBBggqhkjO
PQMBBwNCAAQdy0DPpEyQgpF5payHefdeIAF5AJKtwDOFjcg9jRB4UCppnapU9Lt8
mHub/i1y22j//Qwxsz2WYSZXnUPM4m8Ho1MwUTAdBgNVHQ4EFgQUrcsw/fvE9KWJ
eIj/U14oBH2ODdUwHwYDVR0jBBgwFoAUrcsw/fvE9KWJeIj/U14oBH2ODdUwDwYD
VR0TAQH/BAUwAwEB/zAKBggqhkjOPQQDAgNIADBFAiEAjTJe0VIX/lrIqd4EETlb
5gsFRtnjEOGCBLm7t+fRYfMCIElg6q9qmLmJdY04v7dIqiBXmm0+hoGPL+n6cgBx
QT48
-----END CERTIFICATE-----`

const privateKey = `-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgx3jXK+4154lX245F
x8iKAxOiyKN2rgUDUpOnEa2/lyuhRANCAAQdy0DPpEyQgpF5payHefdeIAF5AJKt
wDOFjcg9jRB4UCppnapU9Lt8mHub/i1y22j//Qwxsz2WYSZXnUPM4m8H
-----END PRIVATE KEY-----`

/** An HTTPS server on 127.0.0.1 (a random port) whose certificate no client trusts; closed with the test's scope. */
export const startSelfSignedServer = Effect.acquireRelease(
  Effect.callback<{ readonly origin: string; readonly close: () => void }>((resume) => {
    const server = createServer({ cert: certificate, key: privateKey }, (_, response) => {
      response.writeHead(200, { "content-type": "application/json" })
      response.end("{}")
    })
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as AddressInfo
      resume(Effect.succeed({
        origin: `https://127.0.0.1:${port}`,
        close: () => {
          server.closeAllConnections()
          server.close()
        }
      }))
    })
  }),
  ({ close }) => Effect.sync(close)
)
