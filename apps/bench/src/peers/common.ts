/**
 * Peer variants: the same work written the way a TypeScript user of p-limit, p-queue + p-retry or bottleneck
 * would write it — plain async/await against `fetch`, `setTimeout` sleeps, try/catch. This directory is the one
 * place in `src` where that style is deliberate (house style elsewhere is Effect); keep it here.
 */

/** A row's model calls: each column names the columns it waits for. */
export interface PeerWorkload {
  readonly rows: number
  readonly columns: ReadonlyArray<{ readonly name: string; readonly requires: ReadonlyArray<string> }>
  readonly baseUrl: string
  readonly model: string
  /** The `maxParallelRequests` the config declares: all a user knows (the same number Sluice is given). */
  readonly maxParallelRequests: number
}

export interface PeerRun {
  readonly rowsCompleted: number
  readonly rowsDropped: number
  readonly elapsedSeconds: number
  readonly attempts: number
  readonly rateLimited: number
  readonly gaveUp: number
  /** Sampled every 50 ms: requests in flight, the limiter's concurrency, rows done. */
  readonly timeline: Array<{ atSeconds: number; inFlight: number; limit: number; rowsDone: number }>
}

/** What a failed attempt tells the caller. */
export class HttpFailure extends Error {
  constructor(readonly status: number, readonly retryAfterMs: number | undefined) {
    super(`HTTP ${status}`)
  }
  get retryable(): boolean {
    return this.status === 429 || this.status >= 500 || this.status === 0
  }
}

/** Thrown when a user's retry budget is spent: the row is dropped. */
export class GaveUp extends Error {}

/** The retry budget every peer gets: 5 retries (6 attempts), what a careful user configures. */
export const maxRetries = 5

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

/** Exponential backoff with full jitter for non-429 failures: 250 ms, 500 ms, 1 s … */
export const backoffMs = (attempt: number) => 250 * 2 ** attempt * (0.5 + Math.random() * 0.5)

export const parseRetryAfterMs = (header: string | null): number | undefined => {
  if (header === null) return undefined
  const seconds = Number(header)
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000
  const at = Date.parse(header)
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now())
}

/** Counts and timelines shared by the variants. */
export class PeerMeter {
  attempts = 0
  rateLimited = 0
  gaveUp = 0
  inFlight = 0
  rowsDone = 0
  readonly started = performance.now()
  readonly timeline: PeerRun["timeline"] = []
  private readonly timer: ReturnType<typeof setInterval>

  constructor(limit: () => number) {
    this.timer = setInterval(() => {
      this.timeline.push({
        atSeconds: (performance.now() - this.started) / 1000,
        inFlight: this.inFlight,
        limit: limit(),
        rowsDone: this.rowsDone
      })
    }, 50)
  }

  stop(): number {
    clearInterval(this.timer)
    return (performance.now() - this.started) / 1000
  }
}

/** One chat-completions attempt; a non-2xx answer throws `HttpFailure` with the Retry-After it carried. */
export const callOnce = async (workload: PeerWorkload, meter: PeerMeter, prompt: string): Promise<string> => {
  meter.attempts++
  meter.inFlight++
  try {
    const response = await fetch(`${workload.baseUrl}/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: workload.model, messages: [{ role: "user", content: prompt }] }),
      signal: AbortSignal.timeout(120_000)
    })
    if (!response.ok) {
      await response.arrayBuffer()
      if (response.status === 429) meter.rateLimited++
      throw new HttpFailure(response.status, parseRetryAfterMs(response.headers.get("retry-after")))
    }
    const body = await response.json() as { choices?: Array<{ message?: { content?: string } }> }
    return body.choices?.[0]?.message?.content ?? ""
  } catch (error) {
    if (error instanceof HttpFailure) throw error
    throw new HttpFailure(0, undefined)
  } finally {
    meter.inFlight--
  }
}

/**
 * Runs every row as a chain of its columns (independent columns in parallel), all rows at once; `call` is the
 * variant's limited, retrying call. A row whose call gives up is dropped, as a user's `Promise.allSettled` would.
 */
export const runRows = async (
  workload: PeerWorkload,
  meter: PeerMeter,
  call: (prompt: string) => Promise<string>
): Promise<PeerRun> => {
  const runRow = async (row: number) => {
    const results = new Map<string, Promise<string>>()
    const start = (name: string): Promise<string> => {
      const existing = results.get(name)
      if (existing !== undefined) return existing
      const column = workload.columns.find((c) => c.name === name)!
      const promise = Promise.all(column.requires.map(start)).then((inputs) =>
        call(`row ${row} ${name}: ${inputs.join(" | ").slice(0, 200)}`)
      )
      results.set(name, promise)
      return promise
    }
    await Promise.all(workload.columns.map((c) => start(c.name)))
    meter.rowsDone++
  }
  const settled = await Promise.allSettled(Array.from({ length: workload.rows }, (_, row) => runRow(row)))
  const elapsedSeconds = meter.stop()
  const rowsCompleted = settled.filter((s) => s.status === "fulfilled").length
  return {
    rowsCompleted,
    rowsDropped: workload.rows - rowsCompleted,
    elapsedSeconds,
    attempts: meter.attempts,
    rateLimited: meter.rateLimited,
    gaveUp: meter.gaveUp,
    timeline: meter.timeline
  }
}
