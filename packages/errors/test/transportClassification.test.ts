import { assert, describe, it } from "@effect/vitest"
import { classifyTransportFailure, describeTransportFailure } from "../src/index.js"

class ConnectTimeoutError extends Error {
  override name = "ConnectTimeoutError"
}
class ReadError extends Error {}

describe("classifyTransportFailure", () => {
  it("treats any timeout as a timeout, a connect timeout included", () => {
    assert.strictEqual(classifyTransportFailure(new ConnectTimeoutError("x")), "timeout")
    assert.strictEqual(classifyTransportFailure(Object.assign(new Error("x"), { code: "ETIMEDOUT" })), "timeout")
    assert.strictEqual(classifyTransportFailure(new DOMException("aborted", "AbortError")), "timeout")
    assert.strictEqual(classifyTransportFailure("timeout"), "timeout")
  })
  it("treats refused, reset and unresolvable connections as connection failures", () => {
    assert.strictEqual(
      classifyTransportFailure(Object.assign(new Error("x"), { code: "ECONNREFUSED" })),
      "api_connection"
    )
    assert.strictEqual(
      classifyTransportFailure(Object.assign(new Error("x"), { code: "ECONNRESET" })),
      "api_connection"
    )
    assert.strictEqual(classifyTransportFailure(Object.assign(new Error("x"), { code: "ENOTFOUND" })), "api_connection")
    assert.strictEqual(classifyTransportFailure("connection refused"), "api_connection")
  })
  it("treats TLS failures as connection failures", () => {
    for (const code of ["DEPTH_ZERO_SELF_SIGNED_CERT", "CERT_HAS_EXPIRED", "ERR_TLS_CERT_ALTNAME_INVALID"]) {
      assert.strictEqual(classifyTransportFailure(Object.assign(new Error("x"), { code })), "api_connection", code)
    }
    assert.strictEqual(
      classifyTransportFailure(Object.assign(new Error("x"), { code: "ERR_SSL_WRONG_VERSION_NUMBER" })),
      "api_connection"
    )
  })
  it("looks through fetch's wrapper to the socket error", () => {
    const failure = new TypeError("fetch failed", {
      cause: Object.assign(new Error("connect"), { code: "ECONNREFUSED" })
    })
    assert.strictEqual(classifyTransportFailure(failure), "api_connection")
  })
  it("maps auth and rate-limit names", () => {
    assert.strictEqual(classifyTransportFailure({ name: "AuthenticationError" }), "authentication")
    assert.strictEqual(classifyTransportFailure({ name: "RateLimitError" }), "rate_limit")
  })
  it("gives api_error for anything else", () => {
    assert.strictEqual(classifyTransportFailure(new ReadError("x")), "api_error")
    assert.strictEqual(classifyTransportFailure(undefined), "api_error")
    assert.strictEqual(classifyTransportFailure(42), "api_error")
  })
})

describe("describeTransportFailure", () => {
  const nodeError = (message: string, code: string) => Object.assign(new Error(message), { code })

  it("keeps Node's own words: code and address", () => {
    assert.strictEqual(
      describeTransportFailure(nodeError("connect ECONNREFUSED 127.0.0.1:9", "ECONNREFUSED")),
      "connect ECONNREFUSED 127.0.0.1:9"
    )
    assert.strictEqual(
      describeTransportFailure(nodeError("getaddrinfo ENOTFOUND api.example", "ENOTFOUND")),
      "getaddrinfo ENOTFOUND api.example"
    )
  })
  it("puts the code in front of a message that does not name it (TLS)", () => {
    assert.strictEqual(
      describeTransportFailure(nodeError("self-signed certificate", "DEPTH_ZERO_SELF_SIGNED_CERT")),
      "DEPTH_ZERO_SELF_SIGNED_CERT: self-signed certificate"
    )
  })
  it("looks through fetch's wrapper and an AggregateError's attempts", () => {
    const wrapped = new TypeError("fetch failed", {
      cause: nodeError("connect ECONNREFUSED 127.0.0.1:9", "ECONNREFUSED")
    })
    assert.strictEqual(describeTransportFailure(wrapped), "fetch failed: connect ECONNREFUSED 127.0.0.1:9")
    const both = Object.assign(
      new AggregateError([
        nodeError("connect ECONNREFUSED ::1:9", "ECONNREFUSED"),
        nodeError("connect ECONNREFUSED 127.0.0.1:9", "ECONNREFUSED")
      ], ""),
      { code: "ECONNREFUSED" }
    )
    assert.strictEqual(describeTransportFailure(both), "connect ECONNREFUSED ::1:9; connect ECONNREFUSED 127.0.0.1:9")
  })
  it("reads strings and odd values", () => {
    assert.strictEqual(describeTransportFailure("socket hang up"), "socket hang up")
    assert.strictEqual(describeTransportFailure({ code: "ECONNRESET" }), "ECONNRESET")
    assert.strictEqual(describeTransportFailure(undefined), "undefined")
  })
})
