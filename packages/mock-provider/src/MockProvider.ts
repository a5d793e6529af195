import { NodeHttpServer } from "@effect/platform-node"
import { Clock, Console, Context, Duration, Effect, Exit, Layer, Random, Schema, type Scope } from "effect"
import { HttpServerRequest, HttpServerResponse } from "effect/http"
import { createServer } from "node:http"
import type { AddressInfo } from "node:net"
import { completionFor, MockChatRequest } from "./completion.js"
import { makeMockGate } from "./MockGate.js"
import { decodeMockOptions, type MockOptions, type MockOptionsInput } from "./MockOptions.js"
import { MockProviderError } from "./MockProviderError.js"
import { emptyCounters, type MockStats } from "./MockStats.js"
import { makeSlotHandOver } from "./SlotHandOver.js"

/** A running mock provider. */
export interface MockProviderHandle {
  /** The OpenAI-compatible base URL, `http://127.0.0.1:PORT/v1`. */
  readonly url: string
  readonly port: number
  /** The options in force, defaults filled in. */
  readonly options: MockOptions
  /** A snapshot of the counters (the same object `GET /stats` returns). */
  readonly stats: Effect.Effect<MockStats>
  /** Zeroes the counters (the same as `POST /stats/reset`). */
  readonly resetStats: Effect.Effect<void>
}

const decodeChatRequest = Schema.decodeUnknownEffect(MockChatRequest)

const errorBody = (message: string, type: string, code: string | null = null) => ({
  error: { message, type, param: null, code }
})

const jsonResponse = (body: unknown, status = 200, headers: Record<string, string> = {}) =>
  HttpServerResponse.jsonUnsafe(body, { status, headers })

/**
 * Starts the OpenAI-compatible mock provider on 127.0.0.1: the ground truth of Sluice's benchmarks.
 *
 * - at most `capacity` chat requests are in service at once; one more is answered 429 with
 *   `Retry-After: retryAfterSeconds` at once (no queueing);
 * - with `rpm`, a token bucket (one second of burst, at least one token) also answers 429, with Retry-After = the
 *   seconds until the next token;
 * - an admitted request then takes three draws from one seeded stream per server (timeout, server error, latency),
 *   always three, so a given arrival order always gives the same outcomes: `timeoutRate` never answers (the
 *   request holds its slot until the client hangs up), otherwise the answer comes after a latency uniform in
 *   `latencyMs`, as a 500/503 with probability `serverErrorRate`, else a completion that is a pure function of
 *   (seed, model, prompt).
 *
 * Routes: `POST /v1/chat/completions`, `GET /v1/models`, `GET /stats` (counters and slot hand-over times, see
 * `MockStats`), `POST /stats/reset`. The server closes when the scope closes, hung requests included.
 */
export const startMockProvider = Effect.fnUntraced(function*(
  input: MockOptionsInput = {}
): Effect.fn.Return<MockProviderHandle, MockProviderError, Scope.Scope> {
  const options = yield* decodeMockOptions(input)
  const draws = yield* Random.Random.pipe(Random.withSeed(options.seed))
  const clock = yield* Clock.Clock
  const gate = makeMockGate(options, clock.currentTimeMillisUnsafe())
  // Hand-over gaps are tens of microseconds: they are timed on the high-resolution clock.
  const handOver = makeSlotHandOver(options.capacity)
  const preciseMillis = () => Number(clock.currentTimeNanosUnsafe()) / 1e6
  let counters = emptyCounters()
  const models = new Set<string>(["mock-model"])

  const stats = Effect.sync((): MockStats => ({
    ...counters,
    maxConcurrent: gate.maxConcurrent(),
    inFlight: gate.inFlight(),
    slotHandOver: handOver.stats()
  }))
  const resetStats = Effect.sync(() => {
    counters = emptyCounters()
    gate.resetMaxConcurrent()
    handOver.reset(options.capacity - gate.inFlight())
  })

  const rejected = (reason: "capacity" | "rpm", retryAfterSeconds: number) => {
    counters.rejected429++
    if (reason === "capacity") counters.rejectedCapacity++
    else counters.rejectedRpm++
    const message = reason === "capacity"
      ? `Rate limit reached: the mock provider serves at most ${options.capacity} concurrent requests.`
      : `Rate limit reached: the mock provider accepts ${options.rpm} requests per minute.`
    return jsonResponse(errorBody(message, "requests", "rate_limit_exceeded"), 429, {
      "retry-after": String(retryAfterSeconds)
    })
  }

  // Runs while holding a slot. Interruption (the client hung up) releases the slot through the caller's
  // `acquireUseRelease`.
  const serveAdmitted = Effect.fnUntraced(function*(request: HttpServerRequest.HttpServerRequest) {
    const body = yield* request.json.pipe(
      Effect.flatMap((json) => decodeChatRequest(json)),
      Effect.option
    )
    if (body._tag === "None") {
      counters.badRequests++
      return jsonResponse(
        errorBody(
          "The body is not a chat-completions request (model and messages are required).",
          "invalid_request_error"
        ),
        400
      )
    }
    const timeoutDraw = draws.nextDoubleUnsafe()
    const errorDraw = draws.nextDoubleUnsafe()
    const latencyDraw = draws.nextDoubleUnsafe()
    if (timeoutDraw < options.timeoutRate) {
      counters.timeouts++
      return yield* Effect.never
    }
    const { max, min } = options.latencyMs
    yield* Effect.sleep(Duration.millis(min + (max - min) * latencyDraw))
    if (errorDraw < options.serverErrorRate) {
      counters.serverErrors++
      // The lower half of the error band answers 500, the upper half 503: seeded, and both kinds show up.
      return errorDraw < options.serverErrorRate / 2
        ? jsonResponse(errorBody("The mock provider had an internal error.", "server_error"), 500)
        : jsonResponse(errorBody("The mock provider is temporarily unavailable.", "server_error"), 503)
    }
    models.add(body.value.model)
    const completion = yield* completionFor(options.seed, body.value)
    counters.served++
    counters.promptTokens += completion.usage.prompt_tokens
    counters.completionTokens += completion.usage.completion_tokens
    return jsonResponse(completion)
  })

  const chatCompletions = Effect.fnUntraced(function*(request: HttpServerRequest.HttpServerRequest) {
    return yield* Effect.acquireUseRelease(
      Effect.sync(() => {
        const admission = gate.tryAdmit(clock.currentTimeMillisUnsafe())
        if (admission._tag === "Admitted") handOver.taken(preciseMillis())
        return admission
      }),
      (admission) =>
        admission._tag === "Rejected"
          ? Effect.succeed(rejected(admission.reason, admission.retryAfterSeconds))
          : serveAdmitted(request),
      (admission, exit) =>
        Effect.sync(() => {
          if (admission._tag === "Rejected") return
          gate.release()
          handOver.freed(preciseMillis())
          if (Exit.hasInterrupts(exit)) counters.abandoned++
        })
    )
  })

  const app = Effect.gen(function*() {
    const request = yield* HttpServerRequest.HttpServerRequest
    const path = request.url.split("?")[0]!.replace(/\/+$/, "")
    if (request.method === "POST" && path === "/v1/chat/completions") return yield* chatCompletions(request)
    if (request.method === "GET" && path === "/v1/models") {
      return jsonResponse({
        object: "list",
        data: [...models].map((id) => ({ id, object: "model", created: 0, owned_by: "sluice-mock" }))
      })
    }
    if (request.method === "GET" && path === "/stats") return jsonResponse(yield* stats)
    if (request.method === "POST" && path === "/stats/reset") {
      yield* resetStats
      return jsonResponse(yield* stats)
    }
    return jsonResponse(errorBody(`No route for ${request.method} ${path}.`, "invalid_request_error"), 404)
  }).pipe(
    // `HttpServer.serve` runs a bare app uninterruptibly (only `HttpRouter` routes are made interruptible), so
    // without this a client hanging up would not interrupt the handler: a hung `timeoutRate` request would
    // hold its slot forever and the server could not close.
    Effect.interruptible
  )

  const nodeServer = createServer()
  const server = yield* NodeHttpServer.make(() => nodeServer, { host: "127.0.0.1", port: options.port }).pipe(
    Effect.mapError((error) =>
      new MockProviderError({
        reason: "ListenFailed",
        message: `The mock provider could not listen on 127.0.0.1:${options.port}: ${error.message}`,
        cause: error
      })
    )
  )
  yield* server.serve(app)
  // Added last, so it runs first on close: a `timeoutRate` request never ends on its own, and Node's `close`
  // would wait for it (up to the 20 s graceful timeout). Cutting every connection lets the scope close at once;
  // the hung handlers are interrupted when their connections close.
  yield* Effect.addFinalizer(() => Effect.sync(() => nodeServer.closeAllConnections()))

  const port = (nodeServer.address() as AddressInfo).port
  return { url: `http://127.0.0.1:${port}/v1`, port, options, stats, resetStats }
})

/** The mock provider as a service, for programs that wire it with layers. */
export class MockProvider
  extends Context.Service<MockProvider, MockProviderHandle>()("@sluice/mock-provider/MockProvider")
{
  static readonly layer = (options: MockOptionsInput = {}): Layer.Layer<MockProvider, MockProviderError> =>
    Layer.effect(MockProvider, startMockProvider(options))
}

/**
 * The `sluice-mock-provider` bin: starts the provider, prints its base URL on stdout (`mock provider listening on
 * URL`, the line scripts wait for), and serves until interrupted (Ctrl-C under `NodeRuntime.runMain`), then closes
 * the server.
 */
export const runMockProviderForever = (input: MockOptionsInput = {}): Effect.Effect<never, MockProviderError> =>
  Effect.scoped(
    Effect.gen(function*() {
      const provider = yield* startMockProvider(input)
      const o = provider.options
      yield* Console.log(`mock provider listening on ${provider.url}`)
      yield* Console.log(
        `capacity ${o.capacity}, latency ${o.latencyMs.min}..${o.latencyMs.max} ms, retry-after ${o.retryAfterSeconds} s, ` +
          `server errors ${o.serverErrorRate}, timeouts ${o.timeoutRate}, rpm ${o.rpm ?? "off"}, seed ${o.seed}`
      )
      return yield* Effect.never
    })
  )
