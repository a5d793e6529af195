import { Clock, Context, Data, Deferred, Effect, Layer, Option } from "effect"
import { Agent, type Dispatcher } from "undici"
import { DeadlineQueue } from "./DeadlineQueue.js"

/**
 * Where one endpoint's requests go: parsed once per base URL and key, so an attempt parses no URL and builds no
 * headers. It holds the Authorization header, so it prints as its origin and path only.
 */
export class TransportTarget {
  private constructor(
    readonly origin: string,
    readonly path: string,
    /** Sent with every request, as is. */
    readonly headers: Readonly<Record<string, string>>
  ) {}

  /** `undefined` when the URL is not an absolute http(s) URL. */
  static make(url: string, headers: Readonly<Record<string, string>>): TransportTarget | undefined {
    const parsed = Option.getOrUndefined(parseUrl(url))
    if (parsed === undefined || (parsed.protocol !== "http:" && parsed.protocol !== "https:")) return undefined
    return new TransportTarget(parsed.origin, parsed.pathname + parsed.search, headers)
  }

  toString(): string {
    return `${this.origin}${this.path}`
  }

  toJSON(): unknown {
    return { origin: this.origin, path: this.path }
  }

  [Symbol.for("nodejs.util.inspect.custom")](): string {
    return `TransportTarget(${this.toString()})`
  }
}

const parseUrl = Option.liftThrowable((url: string): URL => new URL(url))

/** A whole answer: status, headers (lower-case names) and the body decoded as UTF-8. */
export interface TransportResponse {
  readonly status: number
  readonly headers: Readonly<Record<string, string | ReadonlyArray<string> | undefined>>
  readonly body: string
}

/**
 * The request or its answer did not get through: refused, reset, cut off mid-body… `cause` is undici's error.
 * `status` is set when the answer had started (its status line arrived) before it was cut off.
 */
export class TransportError extends Data.TaggedError("TransportError")<{
  readonly cause: unknown
  readonly status?: number | undefined
  readonly receivedBytes?: number | undefined
}> {}

/** A 2xx answer's body was longer than the cap: the request was aborted there, and the body read no further. */
export class TransportResponseTooLarge extends Data.TaggedError("TransportResponseTooLarge")<{
  readonly status: number
  readonly maxBytes: number
  /** What the server declared in Content-Length, when it declared more than the cap up front. */
  readonly declaredBytes?: number | undefined
}> {}

/** The whole exchange took longer than its timeout; the request was aborted and its socket closed. */
export class TransportTimeout extends Data.TaggedError("TransportTimeout")<{ readonly timeoutMillis: number }> {}

export type TransportFailure = TransportError | TransportTimeout | TransportResponseTooLarge

export interface ProviderTransportShape {
  /**
   * One POST and its whole answer, within `timeoutMillis` (from the call to the last byte of the answer; the
   * transport's clock is the `Clock` its layer was built with). Interrupting it aborts the request.
   *
   * A 2xx body longer than `maxResponseBytes` fails with `TransportResponseTooLarge` as soon as the cap is passed
   * (or at once, when Content-Length says so). Other answers are error answers: only their first
   * `maxErrorBodyBytes` are kept (enough to classify them), and the rest is not read.
   */
  readonly post: (
    target: TransportTarget,
    body: string,
    timeoutMillis: number,
    maxResponseBytes: number
  ) => Effect.Effect<TransportResponse, TransportFailure>
}

/** What is kept of a non-2xx answer's body (a whole HTML error page at most; the classifier reads far less). */
export const maxErrorBodyBytes = 64 * 1024

/**
 * How provider requests travel: one POST and its whole answer. The live layer talks to undici's dispatcher
 * directly, so the body arrives as buffers at the end of the exchange — no URL parsing, `AbortController`, body
 * stream or promise per attempt — and one watchdog fiber keeps every request's deadline, instead of a race of two
 * forked fibers and a timer per attempt. That path runs once per slot hand-over (BENCHMARKS.md). Interrupting `post`
 * or reaching its deadline aborts the request and destroys its socket at once, so the server sees the client leave.
 */
export class ProviderTransport extends Context.Service<ProviderTransport, ProviderTransportShape>()(
  "@sluice/reference/ProviderTransport"
) {
  /**
   * undici's `Agent` (keep-alive pools per origin, no per-origin connection cap, so 1,000+ concurrent attempts do
   * not queue inside the client), destroyed when the layer's scope closes: no socket outlives a run. undici's own
   * timeouts are off (headers 1 h, body none): `timeoutMillis` is the only clock.
   */
  static readonly layer: Layer.Layer<ProviderTransport> = Layer.effect(
    ProviderTransport,
    Effect.flatMap(
      Effect.acquireRelease(Effect.sync(() => new Agent()), (agent) => Effect.promise(() => agent.destroy())),
      (agent) => makeTransport(agent)
    )
  )
}

const headersTimeoutMs = 60 * 60 * 1000
// The watchdog looks again at least this often, so no single sleep exceeds what a timer can hold.
const maxSleepMs = 60 * 60 * 1000

const makeTransport = Effect.fnUntraced(function*(agent: Agent) {
  const clock = yield* Clock.Clock
  const deadlines = new DeadlineQueue<Exchange>()
  // The watchdog sleeps until `wakeAt` (the earliest open deadline; Infinity when there is none) or until a request
  // with an earlier deadline completes `wake`. With one timeout per endpoint a new deadline is never earlier than
  // the ones before it, so a request wakes the watchdog only when it was idle.
  let wake = Deferred.makeUnsafe<void>()
  let wakeAt = Infinity

  const watchdog = Effect.gen(function*() {
    for (;;) {
      deadlines.expireDue(clock.currentTimeMillisUnsafe(), (exchange) => exchange.expire())
      const next = deadlines.earliest()
      wake = Deferred.makeUnsafe<void>()
      wakeAt = next ?? Infinity
      if (next === undefined) yield* Deferred.await(wake)
      else {
        const ms = Math.min(maxSleepMs, Math.max(0, next - clock.currentTimeMillisUnsafe()))
        yield* Effect.raceFirst(Effect.sleep(ms), Deferred.await(wake))
      }
    }
  })
  yield* Effect.forkScoped(watchdog, { startImmediately: true })

  const post = (target: TransportTarget, body: string, timeoutMillis: number, maxResponseBytes: number) =>
    Effect.callback<TransportResponse, TransportFailure>((resume) => {
      const exchange = new Exchange(
        resume,
        clock.currentTimeMillisUnsafe() + timeoutMillis,
        timeoutMillis,
        maxResponseBytes
      )
      if (Number.isFinite(exchange.deadline)) {
        deadlines.add(exchange, timeoutMillis)
        if (exchange.deadline < wakeAt) {
          wakeAt = exchange.deadline
          Deferred.doneUnsafe(wake, Effect.void)
        }
      }
      // undici reports every failure, synchronous ones included, through `onResponseError`: it never throws here.
      agent.dispatch({
        origin: target.origin,
        path: target.path,
        method: "POST",
        headers: target.headers,
        body,
        headersTimeout: headersTimeoutMs,
        bodyTimeout: 0
      }, exchange)
      return Effect.sync(() => exchange.abandon())
    })

  return ProviderTransport.of({ post })
})

const isSuccessStatus = (status: number) => status >= 200 && status < 300

const declaredLength = (headers: TransportResponse["headers"]): number | undefined => {
  const value = headers["content-length"]
  const text = typeof value === "string" ? value : value?.[0]
  if (text === undefined) return undefined
  const length = Number(text)
  return Number.isSafeInteger(length) && length >= 0 ? length : undefined
}

/**
 * One request's handler and deadline: collects the answer and resumes the waiting fiber once — at the end of the
 * answer, on a failure, at the deadline, or when the body outgrows its cap. Settled by whichever comes first, or by
 * an interruption. The body is held at most up to its cap, so memory stays bounded whatever a server sends.
 */
class Exchange implements Dispatcher.DispatchHandler {
  settled = false
  private controller: Dispatcher.DispatchController | undefined
  private status = 0
  private headers: TransportResponse["headers"] = {}
  private readonly chunks: Array<Buffer> = []
  private received = 0

  constructor(
    private readonly resume: (effect: Effect.Effect<TransportResponse, TransportFailure>) => void,
    readonly deadline: number,
    private readonly timeoutMillis: number,
    private readonly maxResponseBytes: number
  ) {}

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller
    if (this.settled) controller.abort(abandoned())
  }

  onResponseStart(
    _controller: Dispatcher.DispatchController,
    statusCode: number,
    headers: TransportResponse["headers"]
  ): void {
    // 1xx answers are interim: the final one follows.
    if (statusCode < 200) return
    this.status = statusCode
    this.headers = headers
    const declared = declaredLength(headers)
    if (isSuccessStatus(statusCode) && declared !== undefined && declared > this.maxResponseBytes) {
      this.tooLarge(declared)
    }
  }

  onResponseData(_controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.settled) return
    this.received += chunk.length
    if (isSuccessStatus(this.status)) {
      if (this.received > this.maxResponseBytes) this.tooLarge(undefined)
      else this.chunks.push(chunk)
      return
    }
    // An error answer: its beginning says what went wrong; the rest is not worth reading.
    const room = Math.min(maxErrorBodyBytes, this.maxResponseBytes) - (this.received - chunk.length)
    if (room > 0) this.chunks.push(room >= chunk.length ? chunk : chunk.subarray(0, room))
    if (this.received >= maxErrorBodyBytes) {
      this.succeed()
      this.controller?.abort(abandoned())
    }
  }

  onResponseEnd(): void {
    if (this.settled) return
    this.succeed()
  }

  onResponseError(_controller: Dispatcher.DispatchController | null, error: Error): void {
    if (this.settled) return
    this.settled = true
    this.resume(Effect.fail(
      new TransportError(
        this.status === 0 ? { cause: error } : { cause: error, status: this.status, receivedBytes: this.received }
      )
    ))
  }

  private succeed(): void {
    this.settled = true
    // Decoded once, whole: a multi-byte character may straddle two chunks.
    const body = this.chunks.length === 1
      ? this.chunks[0]!.toString("utf8")
      : Buffer.concat(this.chunks).toString("utf8")
    this.chunks.length = 0
    this.resume(Effect.succeed({ status: this.status, headers: this.headers, body }))
  }

  /** Past the cap: drop what was read, abort (which destroys the socket: nothing more is read) and fail. */
  private tooLarge(declaredBytes: number | undefined): void {
    this.settled = true
    this.chunks.length = 0
    this.controller?.abort(abandoned())
    this.resume(Effect.fail(
      new TransportResponseTooLarge({
        status: this.status,
        maxBytes: this.maxResponseBytes,
        ...(declaredBytes === undefined ? {} : { declaredBytes })
      })
    ))
  }

  /** The deadline passed first: abort (which destroys the socket of a request in flight) and fail the call. */
  expire(): void {
    if (this.settled) return
    this.settled = true
    this.controller?.abort(abandoned())
    this.resume(Effect.fail(new TransportTimeout({ timeoutMillis: this.timeoutMillis })))
  }

  /** The fiber was interrupted: abort, and resume nobody. */
  abandon(): void {
    if (this.settled) return
    this.settled = true
    this.controller?.abort(abandoned())
  }
}

const abandoned = () => new Error("The request was abandoned (interrupted or past its deadline)")
