/**
 * Admission for the mock provider: the concurrency cap and the optional requests-per-minute token bucket.
 * Both are checked in one synchronous step, so a request refused by either does not take a slot or a token,
 * and concurrent requests cannot both take the last slot. Time comes in as an argument (the server reads it
 * from `Clock`), which keeps the arithmetic testable without sockets.
 */
export type Admission =
  | { readonly _tag: "Admitted" }
  | { readonly _tag: "Rejected"; readonly reason: "capacity" | "rpm"; readonly retryAfterSeconds: number }

export interface MockGateOptions {
  readonly capacity: number
  readonly retryAfterSeconds: number
  readonly rpm: number | null
}

export interface MockGate {
  /** Takes a slot (and a token when `rpm` is set), or says why not and when to come back. */
  readonly tryAdmit: (nowMillis: number) => Admission
  /** Gives back the slot of an admitted request (answered, failed, or abandoned by its client). */
  readonly release: () => void
  readonly inFlight: () => number
  readonly maxConcurrent: () => number
  /** Starts a new observation window for `maxConcurrent` (used by `POST /stats/reset`). */
  readonly resetMaxConcurrent: () => void
}

const admitted: Admission = { _tag: "Admitted" }

export const makeMockGate = (options: MockGateOptions, startMillis: number): MockGate => {
  let inFlight = 0
  let maxConcurrent = 0
  // Token bucket: one second's worth of requests as burst (at least one token), refilled continuously.
  const ratePerMs = options.rpm === null ? 0 : options.rpm / 60_000
  const burst = options.rpm === null ? 0 : Math.max(1, options.rpm / 60)
  let tokens = burst
  let refilledAt = startMillis

  const refill = (now: number) => {
    if (now > refilledAt) {
      tokens = Math.min(burst, tokens + (now - refilledAt) * ratePerMs)
      refilledAt = now
    }
  }

  return {
    tryAdmit: (now) => {
      if (inFlight >= options.capacity) {
        return { _tag: "Rejected", reason: "capacity", retryAfterSeconds: options.retryAfterSeconds }
      }
      if (options.rpm !== null) {
        refill(now)
        if (tokens < 1) {
          const waitMs = (1 - tokens) / ratePerMs
          return { _tag: "Rejected", reason: "rpm", retryAfterSeconds: Math.max(1, Math.ceil(waitMs / 1000)) }
        }
        tokens -= 1
      }
      inFlight++
      if (inFlight > maxConcurrent) maxConcurrent = inFlight
      return admitted
    },
    release: () => {
      inFlight--
    },
    inFlight: () => inFlight,
    maxConcurrent: () => maxConcurrent,
    resetMaxConcurrent: () => {
      maxConcurrent = inFlight
    }
  }
}
