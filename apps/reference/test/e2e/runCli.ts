import { spawn } from "node:child_process"
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
  readonly env?: Readonly<Record<string, string>>
  /** Send `killSignal` (default SIGKILL) once this holds (checked on output and every 20 ms), once. */
  readonly killWhen?: (output: { readonly stdout: string; readonly stderr: string }) => boolean
  readonly killSignal?: NodeJS.Signals
  /** SIGKILL after this long (default 60 s). */
  readonly timeoutMs?: number
}

/** Runs the built `sluice` CLI as a user would (a real process), collecting its output and exit. */
export const runCli = (args: ReadonlyArray<string>, options: CliOptions = {}) =>
  Effect.callback<CliRun>((resume) => {
    const child = spawn(process.execPath, [cliPath, ...args], {
      cwd: repoRoot,
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
