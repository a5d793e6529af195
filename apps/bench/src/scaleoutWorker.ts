// One worker process of `pnpm bench scaleout` (started by the scenario, never by hand): it shares the mock
// provider's capacity with the other workers through Redis (`@sluice/request-admission-redis`), prints `ready`,
// waits for `go` on stdin, runs `loops` concurrent call loops for `durationMs`, and prints one JSON line of counts.
import { NodeRedis, NodeRuntime } from "@effect/platform-node"
import { SharedRequestAdmission } from "@sluice/request-admission-redis"
import { requestResourceKey } from "@sluice/scheduling-resources"
import { Clock, Effect, Layer } from "effect"
import { createInterface } from "node:readline"

export interface ScaleoutWorkerArgs {
  readonly socket: string
  readonly mockUrl: string
  readonly workerId: string
  readonly loops: number
  /** Calls run for `warmupMs` before the measured `durationMs` (JIT, connections, the script cache). */
  readonly warmupMs: number
  readonly durationMs: number
  readonly keyPrefix: string
  /** The declared `maxParallelRequests` (the shared limit's ceiling) and the limit it starts at. */
  readonly cap: number
  readonly initial: number
  readonly leaseTtlSeconds: number
  readonly heartbeatSeconds: number
  /** Width of the buckets `servedPerBucket` counts answers in. */
  readonly bucketMs: number
}

export interface ScaleoutWorkerResult {
  readonly workerId: string
  readonly served: number
  readonly rejected429: number
  readonly otherErrors: number
  readonly servedPerBucket: ReadonlyArray<number>
  /** CPU time this process used from `go` to the end (user + system), and wall time, in ms. */
  readonly cpuMs: number
  readonly wallMs: number
}

const args = JSON.parse(process.argv[2]!) as ScaleoutWorkerArgs
const resource = requestResourceKey("mock", "m", "chat")
const body = JSON.stringify({ model: "m", messages: [{ role: "user", content: "hello" }], max_tokens: 8 })

/** One chat call: the HTTP status and the Retry-After seconds of a 429. */
const call = Effect.tryPromise({
  try: (signal) =>
    fetch(`${args.mockUrl}/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body,
      signal
    }).then((response) =>
      response.arrayBuffer().then(() => {
        const retryAfter = Number(response.headers.get("retry-after") ?? Number.NaN)
        return { status: response.status, retryAfter: Number.isFinite(retryAfter) ? retryAfter : undefined }
      })
    ),
  catch: (cause) => cause
})

const waitForGo = Effect.callback<void>((resume) => {
  const lines = createInterface({ input: process.stdin })
  lines.on("line", (line) => {
    if (line.trim() === "go") {
      lines.close()
      resume(Effect.void)
    }
  })
})

const program = Effect.gen(function*() {
  const admission = yield* SharedRequestAdmission
  let served = 0
  let rejected429 = 0
  let otherErrors = 0
  const buckets = Array.from({ length: Math.ceil(args.durationMs / args.bucketMs) }, () => 0)
  process.stdout.write("ready\n")
  yield* waitForGo
  const cpuAtGo = process.cpuUsage()
  const wentAt = yield* Clock.currentTimeMillis
  const start = (yield* Clock.currentTimeMillis) + args.warmupMs
  const deadline = start + args.durationMs
  // An answer counts when it arrives inside the measured window (after the warm-up, before the deadline).
  const count = (status: number, now: number) => {
    if (now < start || now >= deadline) return
    if (status === 200) {
      served++
      buckets[Math.floor((now - start) / args.bucketMs)]!++
    } else if (status === 429) rejected429++
    else otherErrors++
  }
  const counted = Effect.gen(function*() {
    while ((yield* Clock.currentTimeMillis) < deadline) {
      const result = yield* Effect.result(
        admission.withLease({ resource }, (lease) =>
          Effect.flatMap(call, (answer) => {
            const release = admission.release(
              lease,
              answer.status === 200
                ? { kind: "success" }
                : answer.status === 429
                ? { kind: "rate_limited", retryAfterSeconds: answer.retryAfter }
                : { kind: "provider_failure", status: answer.status }
            )
            return Effect.andThen(release, Effect.map(Clock.currentTimeMillis, (now) => count(answer.status, now)))
          }))
      )
      if (result._tag === "Failure") otherErrors++
    }
  })
  yield* Effect.forEach(Array.from({ length: args.loops }), () => counted, { concurrency: "unbounded", discard: true })
  const cpu = process.cpuUsage(cpuAtGo)
  const result: ScaleoutWorkerResult = {
    workerId: args.workerId,
    served,
    rejected429,
    otherErrors,
    servedPerBucket: buckets,
    cpuMs: Math.round((cpu.user + cpu.system) / 1000),
    wallMs: (yield* Clock.currentTimeMillis) - wentAt
  }
  process.stdout.write(`${JSON.stringify(result)}\n`)
})

const layer = SharedRequestAdmission.layer(
  {
    models: [{ provider: "mock", model: "m", maxParallelRequests: args.cap }],
    initialLimits: { "mock/m/chat": args.initial },
    slowStart: false
  },
  {
    keyPrefix: args.keyPrefix,
    workerId: args.workerId,
    leaseTtlSeconds: args.leaseTtlSeconds,
    heartbeatSeconds: args.heartbeatSeconds
  }
).pipe(Layer.provide(NodeRedis.layer({ socket: { path: args.socket, tls: false } })))

NodeRuntime.runMain(Effect.provide(program, layer))
