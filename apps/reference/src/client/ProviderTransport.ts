import { Context, Data, Effect, Layer, Option } from "effect"
import { Agent, type Dispatcher } from "undici"

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

/** The request or its answer did not get through: refused, reset, cut off mid-body… `cause` is undici's error. */
export class TransportError extends Data.TaggedError("TransportError")<{ readonly cause: unknown }> {}

export interface ProviderTransportShape {
  /** One POST and its whole answer; interrupting it aborts the request. */
  readonly post: (target: TransportTarget, body: string) => Effect.Effect<TransportResponse, TransportError>
}

/**
 * How provider requests travel: one POST and its whole answer. The live layer talks to undici's dispatcher
 * directly, so the body arrives as buffers at the end of the exchange — no URL parsing, `AbortController`, body
 * stream or promise per attempt. That path runs once per slot hand-over, and on the pressure benchmark each of them
 * went from ≈ 0.35 ms to ≈ 0.2 ms of client time (BENCHMARKS.md). Interrupting `post` aborts the request and destroys
 * its socket at once, so the server sees the client leave.
 */
export class ProviderTransport extends Context.Service<ProviderTransport, ProviderTransportShape>()("@sluice/reference/ProviderTransport") {
  /**
   * undici's `Agent` (keep-alive pools per origin, no per-origin connection cap, so 1,000+ concurrent attempts do
   * not queue inside the client), destroyed when the layer's scope closes: no socket outlives a run. undici's own
   * timeouts are off (headers 1 h, body none): the caller's per-attempt timeout is the only clock.
   */
  static readonly layer: Layer.Layer<ProviderTransport> = Layer.effect(
    ProviderTransport,
    Effect.map(
      Effect.acquireRelease(Effect.sync(() => new Agent()), (agent) => Effect.promise(() => agent.destroy())),
      (agent) => ProviderTransport.of({ post: (target, body) => post(agent, target, body) })
    )
  )
}

const headersTimeoutMs = 60 * 60 * 1000

const post = (agent: Agent, target: TransportTarget, body: string): Effect.Effect<TransportResponse, TransportError> =>
  Effect.callback<TransportResponse, TransportError>((resume) => {
    const exchange = new Exchange(resume)
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

/** One request's handler: collects the answer and resumes the waiting fiber once, at its end or failure. */
class Exchange implements Dispatcher.DispatchHandler {
  private controller: Dispatcher.DispatchController | undefined
  private abandoned = false
  private status = 0
  private headers: TransportResponse["headers"] = {}
  private readonly chunks: Array<Buffer> = []

  constructor(private readonly resume: (effect: Effect.Effect<TransportResponse, TransportError>) => void) {}

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller
    if (this.abandoned) controller.abort(interrupted())
  }

  onResponseStart(_controller: Dispatcher.DispatchController, statusCode: number, headers: TransportResponse["headers"]): void {
    // 1xx answers are interim: the final one follows.
    if (statusCode < 200) return
    this.status = statusCode
    this.headers = headers
  }

  onResponseData(_controller: Dispatcher.DispatchController, chunk: Buffer): void {
    this.chunks.push(chunk)
  }

  onResponseEnd(): void {
    if (this.abandoned) return
    // Decoded once, whole: a multi-byte character may straddle two chunks.
    const body = this.chunks.length === 1 ? this.chunks[0]!.toString("utf8") : Buffer.concat(this.chunks).toString("utf8")
    this.resume(Effect.succeed({ status: this.status, headers: this.headers, body }))
  }

  onResponseError(_controller: Dispatcher.DispatchController | null, error: Error): void {
    if (this.abandoned) return
    this.resume(Effect.fail(new TransportError({ cause: error })))
  }

  /** The fiber was interrupted (or timed out): abort, which destroys the socket of a request in flight. */
  abandon(): void {
    if (this.abandoned) return
    this.abandoned = true
    this.controller?.abort(interrupted())
  }
}

const interrupted = () => new Error("The request was interrupted")
