import { type ChildProcess, spawn } from "node:child_process"
import { mkdtempSync, rmSync } from "node:fs"
import { createServer } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Effect, type Scope } from "effect"
import { BenchError } from "./mockHost.js"

/** A private `redis-server` for one benchmark: a unix socket, and TCP on loopback for the overhead measurement. */
export interface RedisHost {
  readonly socket: string
  readonly port: number
}

const freePort = Effect.callback<number, BenchError>((resume) => {
  const server = createServer()
  server.once("error", (cause) => resume(Effect.fail(new BenchError({ message: "no free loopback port", cause }))))
  server.listen(0, "127.0.0.1", () => {
    const address = server.address()
    const port = typeof address === "object" && address !== null ? address.port : 0
    server.close(() => resume(Effect.succeed(port)))
  })
})

const stop = (child: ChildProcess) =>
  Effect.callback<void>((resume) => {
    if (child.exitCode !== null || child.signalCode !== null) return resume(Effect.void)
    child.once("exit", () => resume(Effect.void))
    child.kill("SIGKILL")
  })

/** Starts `redis-server` (no persistence) and stops it when the scope closes. */
export const startRedisHost: Effect.Effect<RedisHost, BenchError, Scope.Scope> = Effect.gen(function*() {
  const port = yield* freePort
  const { socket } = yield* Effect.acquireRelease(
    Effect.callback<{ child: ChildProcess; dir: string; socket: string }, BenchError>((resume) => {
      const dir = mkdtempSync(join(tmpdir(), "sluice-bench-redis-"))
      const socket = join(dir, "redis.sock")
      const child = spawn(
        "redis-server",
        [
          "--port",
          String(port),
          "--bind",
          "127.0.0.1",
          "--unixsocket",
          socket,
          "--save",
          "",
          "--appendonly",
          "no",
          "--dir",
          dir
        ],
        { stdio: ["ignore", "pipe", "pipe"] }
      )
      let output = ""
      let settled = false
      const settle = (effect: Effect.Effect<{ child: ChildProcess; dir: string; socket: string }, BenchError>) => {
        if (settled) return
        settled = true
        resume(effect)
      }
      child.stdout!.setEncoding("utf8").on("data", (chunk: string) => {
        output += chunk
        if (/ready to accept connections/i.test(output)) settle(Effect.succeed({ child, dir, socket }))
      })
      child.on(
        "error",
        (cause) =>
          settle(Effect.fail(new BenchError({ message: "cannot start redis-server (is it installed?)", cause })))
      )
      child.on(
        "exit",
        (code) => settle(Effect.fail(new BenchError({ message: `redis-server exited (${code}): ${output.trim()}` })))
      )
    }),
    ({ child, dir }) => Effect.andThen(stop(child), Effect.sync(() => rmSync(dir, { recursive: true, force: true })))
  )
  return { socket, port }
})
