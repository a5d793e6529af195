import { assert, describe, it } from "@effect/vitest"
import type { RequestPressure } from "@sluice/request-admission"
import { requestResourceKey } from "@sluice/scheduling-resources"
import type { ProviderHealthSnapshot } from "../../src/pipeline/providerHealth.js"
import { formatPlainLine, progressLine, stallWatch } from "../../src/progress/ProgressReporter.js"
import { makeProgressState, progressFromStats } from "../../src/progress/ProgressState.js"
import { clockTime, waitReasons } from "../../src/progress/waitReasons.js"

const now = new Date(2026, 0, 1, 12, 0, 0).getTime()

const pressure = (provider: string, fields: Partial<RequestPressure> = {}): RequestPressure => ({
  resource: requestResourceKey(provider, "m", "chat"),
  capturedAtMillis: now,
  currentLimit: 1,
  effectiveMax: 8,
  inFlight: 0,
  waiters: 0,
  blockedUntilMillis: null,
  cooldownRemainingMs: 0,
  rateLimitCeiling: 0,
  consecutiveRateLimits: 0,
  lastOutcome: null,
  rampActive: false,
  slowStartWindow: null,
  halfOpen: false,
  ceilingProbeFailures: 0,
  ...fields
})

const health = (provider: string, fields: Partial<ProviderHealthSnapshot> = {}): ProviderHealthSnapshot => ({
  provider,
  down: undefined,
  lastRateLimit: undefined,
  maxRetryAfterSeconds: 120,
  ...fields
})

describe("why nothing moves", () => {
  it("names a provider cooling down, until when, and on whose word", () => {
    const until = now + 95_000
    const cooling = [pressure("openai", { blockedUntilMillis: until })]
    assert.deepStrictEqual(
      waitReasons(cooling, [health("openai", { lastRateLimit: { atMillis: now, retryAfterSeconds: 95 } })], now, true),
      ["provider openai cooling down until 12:01:35 (Retry-After 95 s)"]
    )
    assert.deepStrictEqual(
      waitReasons(cooling, [health("openai", { lastRateLimit: { atMillis: now, retryAfterSeconds: 120 } })], now, true),
      ["provider openai cooling down until 12:01:35 (Retry-After capped at 120 s)"]
    )
    assert.deepStrictEqual(
      waitReasons(
        cooling,
        [health("openai", { lastRateLimit: { atMillis: now, retryAfterSeconds: undefined } })],
        now,
        true
      ),
      ["provider openai cooling down until 12:01:35 (rate limited, no Retry-After)"]
    )
    // `Retry-After: 0` is a Retry-After: said as the provider said it.
    assert.deepStrictEqual(
      waitReasons(cooling, [health("openai", { lastRateLimit: { atMillis: now, retryAfterSeconds: 0 } })], now, true),
      ["provider openai cooling down until 12:01:35 (Retry-After 0 s)"]
    )
    // While things move, a cooling provider is only marked in the loads.
    assert.deepStrictEqual(waitReasons(cooling, [health("openai")], now, false), [])
  })

  it("always names a provider that is down, with the OS's or the provider's words", () => {
    const down = health("remote", {
      down: {
        reason: "unreachable",
        message: "connect ECONNREFUSED 127.0.0.1:9",
        sinceMillis: now,
        failures: 5,
        hadAnswered: false,
        silent: false,
        rateLimitedOnly: false,
        failingSeconds: 0
      }
    })
    const keyless = health("openai", {
      down: {
        reason: "authentication",
        message: "Incorrect API key provided: sk-[redacted].",
        sinceMillis: now,
        failures: 1,
        hadAnswered: false,
        silent: false,
        rateLimitedOnly: false,
        failingSeconds: 0
      }
    })
    assert.deepStrictEqual(waitReasons([pressure("local", { inFlight: 3 })], [down, keyless], now, false), [
      "provider remote unreachable: connect ECONNREFUSED 127.0.0.1:9",
      "provider openai rejected the API key: Incorrect API key provided: sk-[redacted]."
    ])
  })

  it("otherwise says what the run waits on", () => {
    assert.deepStrictEqual(waitReasons([pressure("local", { inFlight: 3 })], [], now, true), [
      "waiting on 3 requests in flight"
    ])
    assert.deepStrictEqual(waitReasons([pressure("local")], [], now, true), ["waiting for retries to come due"])
    // A cooldown that has already ended is no reason.
    assert.deepStrictEqual(waitReasons([pressure("local", { blockedUntilMillis: now - 1 })], [], now, true), [
      "waiting for retries to come due"
    ])
  })

  it("a stalled progress line says so, with the reasons and no ETA", () => {
    const start = makeProgressState(8, 8)
    const half = progressFromStats(start, { cellsCompleted: 4, checkpointedRows: 0, rowsDropped: 0 })
    const line = progressLine(half, 10, [pressure("hostile", { blockedUntilMillis: now + 5_000 })], {
      health: [health("hostile", { lastRateLimit: { atMillis: now, retryAfterSeconds: 5 } })],
      nowMillis: now,
      stalled: true
    })
    assert.strictEqual(line.eta, Number.POSITIVE_INFINITY)
    assert.strictEqual(
      formatPlainLine(line, 10),
      "[10s] rows 4/8 · 0.4 rows/s · ETA -- · in flight/limit: hostile 0/1 (cooling down) · nothing moves: " +
        "provider hostile cooling down until 12:00:05 (Retry-After 5 s)"
    )
    assert.strictEqual(clockTime(now + 3_723_000), "13:02:03")
  })

  it("a stall is nothing moving for 2 s since the last change seen", () => {
    const start = makeProgressState(8, 8)
    const stalled = stallWatch(start, 0)
    assert.isFalse(stalled(start, 1_000))
    assert.isTrue(stalled(start, 2_000))
    const moved = progressFromStats(start, { cellsCompleted: 1, checkpointedRows: 0, rowsDropped: 0 })
    assert.isFalse(stalled(moved, 2_500))
    assert.isFalse(stalled(moved, 4_000))
    assert.isTrue(stalled(moved, 4_500))
    assert.isFalse(stalled(progressFromStats(start, { cellsCompleted: 1, checkpointedRows: 0, rowsDropped: 1 }), 5_000))
  })
})
