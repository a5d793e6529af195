import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { TestClock } from "effect/testing"
import { defaultMaxRetryAfterSeconds, parseRetryAfter, parseRetryAfterAt } from "../src/index.js"

const epoch = Date.parse("Sun, 06 Nov 1994 08:49:37 GMT")

describe("parseRetryAfter", () => {
  it("reads delay-seconds, fractions included", () => {
    assert.strictEqual(parseRetryAfterAt("2", 0), 2)
    assert.strictEqual(parseRetryAfterAt("2.5", 0), 2.5)
    assert.strictEqual(parseRetryAfterAt(" 0 ", 0), 0)
  })
  it("rejects negative, NaN, infinite and garbage values", () => {
    for (const header of ["-1", "nan", "NaN", "inf", "Infinity", "-inf", "soon", "12abc", "", "   "]) {
      assert.isUndefined(parseRetryAfterAt(header, epoch), header)
    }
    assert.isUndefined(parseRetryAfterAt(undefined, 0))
    assert.isUndefined(parseRetryAfterAt(null, 0))
  })
  it("caps hostile values at 600 s by default, and at a configured cap", () => {
    assert.strictEqual(defaultMaxRetryAfterSeconds, 600)
    assert.strictEqual(parseRetryAfterAt("86400", 0), 600)
    assert.strictEqual(parseRetryAfterAt("1e308", 0), 600)
    assert.strictEqual(parseRetryAfterAt("90", 0, { maxSeconds: 30 }), 30)
    // a header that would close a provider for three thousand years
    assert.strictEqual(parseRetryAfterAt("99999999999", 0), 600)
    assert.strictEqual(parseRetryAfterAt("99999999999", 0, { maxSeconds: 120 }), 120)
    assert.strictEqual(parseRetryAfterAt("Fri, 31 Dec 9999 23:59:59 GMT", epoch, { maxSeconds: 120 }), 120)
  })
  it("reads an HTTP-date relative to now; a past date is 0", () => {
    assert.strictEqual(parseRetryAfterAt("Sun, 06 Nov 1994 08:49:40 GMT", epoch), 3)
    assert.strictEqual(parseRetryAfterAt("Sun, 06 Nov 1994 08:49:30 GMT", epoch), 0)
    assert.strictEqual(parseRetryAfterAt("Mon, 07 Nov 1994 08:49:37 GMT", epoch), 600)
  })
  it.effect("measures HTTP-dates against the Clock", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(epoch)
      assert.strictEqual(yield* parseRetryAfter("Sun, 06 Nov 1994 08:49:47 GMT"), 10)
      yield* TestClock.adjust("4 seconds")
      assert.strictEqual(yield* parseRetryAfter("Sun, 06 Nov 1994 08:49:47 GMT"), 6)
      assert.strictEqual(yield* parseRetryAfter("7", { maxSeconds: 5 }), 5)
    }))
})
