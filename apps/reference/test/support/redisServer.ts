/**
 * A private `redis-server` for one test file: unix socket only, no persistence, started and stopped in a scope.
 */
import { NodeRedis } from "@effect/platform-node"
import { Context, Effect, Layer, type Scope } from "effect"
import { type ChildProcess, spawn } from "node:child_process"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"

export interface RedisServerShape {
  readonly socket: string
  /** Stops the server now (for fail-closed tests); the scope's release then does nothing more. */
  readonly stop: Effect.Effect<void>
}

const stopChild = (child: ChildProcess): Effect.Effect<void> =>
  Effect.callback<void>((resume) => {
    if (child.exitCode !== null || child.signalCode !== null) return resume(Effect.void)
    child.once("exit", () => resume(Effect.void))
    child.kill("SIGKILL")
  })

export const startRedisServer: Effect.Effect<RedisServerShape, never, Scope.Scope> = Effect
  .acquireRelease(
    Effect.callback<{ child: ChildProcess; dir: string; socket: string }>((resume) => {
      const dir = mkdtempSync(join(tmpdir(), "sluice-redis-"))
      const socket = join(dir, "redis.sock")
      const child = spawn(
        "redis-server",
        ["--port", "0", "--unixsocket", socket, "--save", "", "--appendonly", "no", "--dir", dir],
        { stdio: ["ignore", "pipe", "pipe"] }
      )
      let output = ""
      let done = false
      child.stdout!.on("data", (chunk: Buffer) => {
        output += chunk.toString()
        if (!done && /ready to accept connections/i.test(output)) {
          done = true
          resume(Effect.succeed({ child, dir, socket }))
        }
      })
      child.on("error", (error) => {
        if (!done) {
          done = true
          resume(Effect.die(new Error(`redis-server did not start (is it installed?): ${error.message}`)))
        }
      })
      child.on("exit", (code) => {
        if (!done) {
          done = true
          resume(Effect.die(new Error(`redis-server exited with ${code}: ${output}`)))
        }
      })
    }),
    ({ child, dir }) =>
      Effect.andThen(stopChild(child), Effect.sync(() => rmSync(dir, { recursive: true, force: true })))
  )
  .pipe(Effect.map(({ child, socket }) => ({ socket, stop: stopChild(child) })))

export class RedisServer extends Context.Service<RedisServer, RedisServerShape>()("test/RedisServer") {
  static readonly layer = Layer.effect(RedisServer, startRedisServer)
}

/** `Redis` over the file's server (a fresh client for this layer's scope). */
export const redisClient = Layer.unwrap(
  Effect.gen(function*() {
    const server = yield* RedisServer
    return NodeRedis.layer({ socket: { path: server.socket, tls: false } })
  })
).pipe(Layer.orDie)
