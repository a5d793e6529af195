import { type ChildProcess, spawn } from "node:child_process"
import { Effect } from "effect"

export interface LocalWorker {
  readonly index: number
  readonly pid: number | undefined
}

const exited = (child: ChildProcess): Effect.Effect<void> =>
  Effect.callback<void>((resume) => {
    if (child.exitCode !== null || child.signalCode !== null) return resume(Effect.void)
    child.once("exit", () => resume(Effect.void))
  })

// A worker leaves by itself once it sees the run end (within a heartbeat); one that does not gets SIGTERM (it hands
// its groups back), then SIGKILL.
const stop = (child: ChildProcess, graceMillis: number): Effect.Effect<void> =>
  exited(child).pipe(
    Effect.timeoutOrElse({
      duration: graceMillis,
      orElse: () =>
        Effect.andThen(Effect.sync(() => child.kill("SIGTERM")), exited(child)).pipe(
          Effect.timeoutOrElse({ duration: "5 seconds", orElse: () => Effect.sync(() => child.kill("SIGKILL")) })
        )
    })
  )

/**
 * Starts `count` `sluice worker --redis URL --run RUNID` processes of this same CLI, with stderr shared (their
 * lines reach the user) and each exit reported through `onExit`. The scope's close stops those still running.
 */
export const startLocalWorkers = (options: {
  readonly count: number
  readonly redis: string
  readonly runId: string
  /** How long a worker may take to leave by itself when the scope closes. */
  readonly graceMillis: number
  readonly onExit: (worker: LocalWorker, code: number | null, signal: NodeJS.Signals | null) => void
}) =>
  Effect.forEach(
    Array.from({ length: options.count }, (_, i) => i + 1),
    (index) =>
      Effect.acquireRelease(
        Effect.sync(() => {
          const child = spawn(
            process.execPath,
            [...process.execArgv, process.argv[1] ?? "", "worker", "--redis", options.redis, "--run", options.runId],
            { stdio: ["ignore", "ignore", "inherit"] }
          )
          const worker: LocalWorker = { index, pid: child.pid }
          child.on("exit", (code, signal) => options.onExit(worker, code, signal))
          return { child, worker }
        }),
        ({ child }) => stop(child, options.graceMillis)
      ).pipe(Effect.map(({ worker }) => worker))
  )
