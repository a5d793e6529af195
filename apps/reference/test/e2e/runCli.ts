import { type ChildProcess, spawn } from "node:child_process"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { Effect } from "effect"

export const cliPath = fileURLToPath(new URL("../../dist/cli.js", import.meta.url))
export const repoRoot = fileURLToPath(new URL("../../../../", import.meta.url))

export interface CliRun {
  readonly code: number | null
  readonly signal: NodeJS.Signals | null
  readonly stdout: string
  readonly stderr: string
}

export interface CliOptions {
  /** The directory the CLI runs in (default: the repository root). */
  readonly cwd?: string
  readonly env?: Readonly<Record<string, string>>
  /** Send `killSignal` (default SIGKILL) once this holds (checked on output and every 20 ms), once. */
  readonly killWhen?: (output: { readonly stdout: string; readonly stderr: string }) => boolean
  readonly killSignal?: NodeJS.Signals
  /** Options for node itself, before the CLI's path (e.g. `--import` of a probe). */
  readonly nodeOptions?: ReadonlyArray<string>
  /** SIGKILL after this long (default 60 s). */
  readonly timeoutMs?: number
}

/** Runs the built `sluice` CLI as a user would (a real process), collecting its output and exit. */
export const runCli = (args: ReadonlyArray<string>, options: CliOptions = {}) =>
  Effect.callback<CliRun>((resume) => {
    const child = spawn(process.execPath, [...(options.nodeOptions ?? []), cliPath, ...args], {
      cwd: options.cwd ?? repoRoot,
      env: { ...process.env, ...options.env },
      stdio: ["ignore", "pipe", "pipe"]
    })
    let stdout = ""
    let stderr = ""
    let signalled = false
    const check = () => {
      if (signalled || child.exitCode !== null || options.killWhen?.({ stdout, stderr }) !== true) return
      signalled = true
      child.kill(options.killSignal ?? "SIGKILL")
    }
    child.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk.toString()
      check()
    })
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString()
      check()
    })
    const timer = setTimeout(() => child.kill("SIGKILL"), options.timeoutMs ?? 60_000)
    const poll = setInterval(check, 20)
    child.on("close", (code, signal) => {
      clearTimeout(timer)
      clearInterval(poll)
      resume(Effect.succeed({ code, signal, stdout, stderr }))
    })
    return Effect.sync(() => child.kill("SIGKILL"))
  })

/** A temporary directory removed when the test's scope closes. */
export const tempDir = Effect.acquireRelease(
  Effect.sync(() => mkdtempSync(join(tmpdir(), "sluice-e2e-"))),
  (dir) => Effect.sync(() => rmSync(dir, { recursive: true, force: true }))
)

// A mock provider in its own process (`sluice mock-provider`), as a remote OpenAI-compatible endpoint would be.
export const runMockInBackground = Effect.acquireRelease(
  Effect.callback<{ readonly url: string; readonly child: ChildProcess }>((resume) => {
    const child = spawn(process.execPath, [
      cliPath,
      "mock-provider",
      "--port",
      "0",
      "--latency-min",
      "5",
      "--latency-max",
      "10"
    ], {
      stdio: ["ignore", "pipe", "inherit"]
    })
    let output = ""
    child.stdout.on("data", (chunk: Buffer) => {
      output += chunk.toString()
      const match = /listening on (http:\/\/\S+)/.exec(output)
      if (match?.[1] !== undefined) resume(Effect.succeed({ url: match[1], child }))
    })
    return Effect.sync(() => child.kill("SIGKILL"))
  }),
  ({ child }) => Effect.sync(() => child.kill("SIGTERM"))
).pipe(Effect.map(({ url }) => url))
