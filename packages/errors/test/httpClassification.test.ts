import { assert, describe, it } from "@effect/vitest"
import { classifyHttpStatus, extractBodyMessage, type ProviderErrorKind } from "../src/index.js"

describe("classifyHttpStatus", () => {
  const cases: ReadonlyArray<readonly [number, string, ProviderErrorKind]> = [
    [401, "", "authentication"],
    [403, "", "permission_denied"],
    [404, "", "not_found"],
    [408, "", "timeout"],
    [413, "", "context_window_exceeded"],
    [422, "", "unprocessable_entity"],
    [429, "", "rate_limit"],
    [
      400,
      "Your credit balance is too low to access the API. Please go to Plans & Billing to purchase credits.",
      "quota_exceeded"
    ],
    [
      400,
      "`temperature` and `top_p` cannot both be specified for this model. Please use only one.",
      "unsupported_params"
    ],
    [400, "Unknown parameter: 'foo'", "unsupported_params"],
    [400, "", "bad_request"],
    [400, "This model's maximum context length exceeded", "context_window_exceeded"],
    [400, "too many tokens in the request", "context_window_exceeded"],
    [500, "", "internal_server"],
    [503, "", "internal_server"],
    [599, "", "internal_server"],
    [418, "", "api_error"],
    [302, "", "api_error"]
  ]
  for (const [status, body, kind] of cases) {
    it(`${status} ${body === "" ? "(empty body)" : JSON.stringify(body.slice(0, 30))} -> ${kind}`, () => {
      assert.strictEqual(classifyHttpStatus(status, body), kind)
    })
  }

  it("quota phrases win over 429: an exhausted quota is not a rate limit", () => {
    assert.strictEqual(classifyHttpStatus(429, "{\"error\":{\"code\":\"insufficient_quota\"}}"), "quota_exceeded")
    assert.strictEqual(classifyHttpStatus(429, "Quota exceeded for this month"), "quota_exceeded")
    assert.strictEqual(classifyHttpStatus(500, "you are out of credits"), "quota_exceeded")
  })

  it("matches phrases case-insensitively", () => {
    assert.strictEqual(classifyHttpStatus(400, "MUTUALLY EXCLUSIVE options"), "unsupported_params")
  })
})

describe("extractBodyMessage", () => {
  it("uses raw text when the body is not JSON", () => {
    assert.strictEqual(extractBodyMessage("  upstream exploded \n"), "upstream exploded")
  })
  it("prefers error.message over the raw text", () => {
    assert.strictEqual(extractBodyMessage("{\"error\":{\"message\":\"Invalid model\"}}"), "Invalid model")
  })
  it("uses a string `error`", () => {
    assert.strictEqual(extractBodyMessage("{\"error\":\"bad things\"}"), "bad things")
  })
  it("uses a top-level message first", () => {
    assert.strictEqual(extractBodyMessage("{\"message\":\"top\",\"error\":\"second\"}"), "top")
  })
  it("joins a FastAPI-style detail list", () => {
    const body = JSON.stringify({ detail: [{ loc: ["a"], msg: "field required" }, { msg: "not a valid integer" }] })
    assert.strictEqual(extractBodyMessage(body), "field required; not a valid integer")
  })
  it("skips blank fields and falls back to the raw JSON text", () => {
    assert.strictEqual(
      extractBodyMessage("{\"message\":\"  \",\"error\":{\"message\":\"\"}}"),
      "{\"message\":\"  \",\"error\":{\"message\":\"\"}}"
    )
  })
  it("gives an empty string for no body", () => {
    assert.strictEqual(extractBodyMessage(undefined), "")
    assert.strictEqual(extractBodyMessage("   "), "")
  })
  it("reads a mutually-exclusive message from JSON so classification sees it", () => {
    const body = "{\"error\":{\"message\":\"temperature and top_p are mutually exclusive\"}}"
    assert.strictEqual(classifyHttpStatus(400, extractBodyMessage(body)), "unsupported_params")
  })
})
