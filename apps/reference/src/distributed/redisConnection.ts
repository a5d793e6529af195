import { NodeRedis } from "@effect/platform-node"
import { Context, Duration, Effect, Layer } from "effect"
import * as PersistedQueue from "effect/persistence/PersistedQueue"
import * as Redis from "effect/persistence/Redis"
import { RedisUnavailableError } from "./errors.js"
import { queuePrefix } from "./runKeys.js"
import type { RunTimings } from "./RunSpec.js"

/** How long connecting, or one command, may take before Redis counts as unreachable. */
const connectTimeoutMillis = 5000
const commandTimeout = Duration.seconds(10)

/** node-redis options for `--redis`: `redis://…`, `rediss://…`, or a unix socket (`unix:///path` or `/path`). */
const clientOptionsOf = (url: string) => {
  if (url.startsWith("unix://") || url.startsWith("/")) {
    const path = url.startsWith("unix://") ? url.slice("unix://".length) : url
    return Effect.succeed({ socket: { path, tls: false as const, connectTimeout: connectTimeoutMillis } })
  }
  if (/^rediss?:\/\/./.test(url)) return Effect.succeed({ url, socket: { connectTimeout: connectTimeoutMillis } })
  return Effect.fail(
    new RedisUnavailableError({
      url,
      problem: "is not a Redis URL; use redis://HOST:PORT, rediss://HOST:PORT or unix:///path/to/redis.sock"
    })
  )
}

const describe = (cause: unknown): string => {
  const inner = (cause as { readonly cause?: unknown }).cause ?? cause
  return inner instanceof Error ? inner.message : String(inner)
}

/**
 * `Redis` (Effect's service, over node-redis) for `--redis URL`, checked with a PING: an unreachable server is a
 * `RedisUnavailableError` at once, never a hang.
 */
export const redisLayer = (url: string): Layer.Layer<Redis.Redis, RedisUnavailableError> =>
  Layer.effectContext(Effect.gen(function*() {
    const options = yield* clientOptionsOf(url)
    const context = yield* Layer.build(NodeRedis.layer(options)).pipe(
      Effect.mapError((error) => new RedisUnavailableError({ url, problem: `cannot connect (${describe(error)})` }))
    )
    yield* Redis.Redis.use((redis) => redis.send("PING")).pipe(
      Effect.provideContext(context),
      Effect.timeoutOrElse({
        duration: commandTimeout,
        orElse: () => Effect.fail(new RedisUnavailableError({ url, problem: "did not answer PING in time" }))
      }),
      Effect.catchTag(
        "RedisError",
        (error) => Effect.fail(new RedisUnavailableError({ url, problem: `PING failed (${describe(error)})` }))
      )
    )
    return Context.make(Redis.Redis, Context.get(context, Redis.Redis))
  }))

/** Any Redis failure during a run, as the typed error naming `--redis`. */
export const whileReachable = (url: string) => <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  effect.pipe(
    Effect.timeoutOrElse({
      duration: commandTimeout,
      orElse: () => Effect.fail(new RedisUnavailableError({ url, problem: "a command did not answer in time" }))
    }),
    Effect.catchIf(
      (error): error is E & Redis.RedisError => (error as { readonly _tag?: unknown })._tag === "RedisError",
      (error) => Effect.fail(new RedisUnavailableError({ url, problem: describe(error) }))
    )
  )

/** The row-group queues (Effect's `PersistedQueue` with its Redis store), with the run's timings. */
export const groupQueueLayer = (timings: RunTimings) =>
  PersistedQueue.layer.pipe(
    Layer.provide(PersistedQueue.layerStoreRedis({
      prefix: queuePrefix,
      pollInterval: Duration.millis(timings.pollMillis),
      lockRefreshInterval: Duration.millis(timings.heartbeatMillis),
      lockExpiration: Duration.millis(timings.leaseMillis)
    }))
  )
