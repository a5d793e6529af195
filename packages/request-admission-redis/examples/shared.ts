// example-deps: @sluice/mock-provider @sluice/scheduling-resources @effect/platform-node@4.1.0 effect@4.1.0
import { NodeRedis } from "@effect/platform-node"
import { startMockProvider } from "@sluice/mock-provider"
import { SharedRequestAdmission } from "@sluice/request-admission-redis"
import { requestResourceKey } from "@sluice/scheduling-resources"
import { Effect, Layer } from "effect"
import { type ChildProcess, spawn } from "node:child_process"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"

// Two workers of one job, here in one process (in production: processes or machines), call the same provider
// account through one Redis table.
const provider = "openai"
const model = "gpt-4o-mini"
const resource = requestResourceKey(provider, model, "chat")

// Your Redis (REDIS_URL), or a throwaway redis-server on a unix socket: no port, no persistence, stopped at the end.
const throwawayRedis = Effect.acquireRelease(
  Effect.callback<{ child: ChildProcess; dir: string }>((resume) => {
    const dir = mkdtempSync(join(tmpdir(), "sluice-example-"))
    const args = ["--port", "0", "--unixsocket", join(dir, "redis.sock"), "--save", "", "--appendonly", "no"]
    const child = spawn("redis-server", [...args, "--dir", dir], { stdio: ["ignore", "pipe", "inherit"] })
    child.stdout!.on("data", (chunk: Buffer) => {
      if (/ready to accept connections/i.test(chunk.toString())) resume(Effect.succeed({ child, dir }))
    })
    child.on("error", (error) => resume(Effect.die(new Error(`set REDIS_URL or install redis-server: ${error}`))))
    child.on("exit", (code) => resume(Effect.die(new Error(`redis-server exited with ${code}`)))) // (before ready)
  }),
  ({ child, dir }) =>
    Effect.callback<void>((resume) => {
      const removeDir = Effect.sync(() => rmSync(dir, { recursive: true, force: true }))
      if (child.exitCode !== null || child.signalCode !== null) return resume(removeDir)
      child.once("exit", () => resume(removeDir))
      child.kill()
    })
)
const redisOptions = process.env.REDIS_URL !== undefined
  ? Effect.succeed({ url: process.env.REDIS_URL })
  : Effect.map(throwawayRedis, ({ dir }) => ({ socket: { path: join(dir, "redis.sock"), tls: false as const } }))

// One worker: its own Redis client and admission (the same keyPrefix as the others, its own workerId), 20 calls at
// once, each holding a local and a shared lease while it waits for the provider.
const worker = (workerId: string, url: string, redis: Parameters<typeof NodeRedis.layer>[0]) =>
  Effect.gen(function*() {
    const admission = yield* SharedRequestAdmission
    const call = (i: number) =>
      admission.withLease({ resource }, (lease) =>
        Effect.gen(function*() {
          const response = yield* Effect.promise(() =>
            fetch(`${url}/chat/completions`, {
              method: "POST",
              headers: { "content-type": "application/json" },
              body: JSON.stringify({ model, messages: [{ role: "user", content: `${workerId}: tent ${i}` }] })
            })
          )
          yield* Effect.promise(() => response.arrayBuffer())
          // A 429 (with its Retry-After) would lower the shared limit for every worker.
          const retryAfter = Number(response.headers.get("retry-after") ?? 1)
          yield* admission.release(
            lease,
            response.status === 429 ? { kind: "rate_limited", retryAfterSeconds: retryAfter } : { kind: "success" }
          )
          return response.status
        }))
    return yield* Effect.forEach(Array.from({ length: 20 }, (_, i) => i), call, { concurrency: "unbounded" })
  }).pipe(
    Effect.provide(
      SharedRequestAdmission.layer(
        // Each worker believes it may send 4 at once: two of them would send 8 without the shared limit.
        { models: [{ provider, model, maxParallelRequests: 4 }] },
        { keyPrefix: "sluice-example:", workerId }
      ).pipe(Layer.provide(NodeRedis.layer(redis)))
    )
  )

const program = Effect.gen(function*() {
  const redis = yield* redisOptions
  // The provider account really serves 4 at once, and answers 429 above that.
  const mock = yield* startMockProvider({ capacity: 4, latencyMs: { min: 20, max: 40 } })
  const statuses = yield* Effect.all([worker("worker-a", mock.url, redis), worker("worker-b", mock.url, redis)], {
    concurrency: "unbounded"
  })
  const stats = yield* mock.stats
  const answered = statuses.flat().filter((status) => status === 200).length
  console.log(`answered: ${answered} of 40 calls from 2 workers`)
  console.log(`peak in flight at the provider: ${stats.maxConcurrent} (capacity 4)`)
  console.log(`429s: ${stats.rejected429}`)
})

await Effect.runPromise(Effect.scoped(program))
