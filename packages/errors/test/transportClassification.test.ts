import { assert, describe, it } from "@effect/vitest"
import { classifyTransportFailure } from "../src/index.js"

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
