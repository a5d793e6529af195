import { execFile } from "node:child_process"
import { readFileSync } from "node:fs"
import { Context, Effect, Layer, Option, type Scope } from "effect"

/**
 * How `pnpm bench` shares the machine between the client under test and its mock providers:
 * the mock child processes on one core of their own, the bench process — Sluice or the peer being measured —
 * on the others, so a comparison does not depend on where the OS happens to place them.
 */
export interface CpuSplit {
  /** `taskset` CPU list of the bench process while a mock child runs. */
  readonly client: string
  /** `taskset` CPU list every mock child is started on. */
  readonly mock: string
}

/** The bench command's CPU split and the pinning that applies it. */
export interface BenchCpusService {
  /** Undefined when nothing can be pinned (fewer than two CPUs, not Linux, no `taskset`). */
  readonly split: CpuSplit | undefined
  /**
   * Pins this process to `split.client` while the scope is open; nested holds share one pinning, and the last
   * release restores the original affinity. Scenarios without mock children (scale, heavy-root) keep every CPU.
   */
  readonly hold: Effect.Effect<void, never, Scope.Scope>
}

export class BenchCpus extends Context.Service<BenchCpus, BenchCpusService>()("@sluice/bench/BenchCpus") {
  static readonly layer: Layer.Layer<BenchCpus> = Layer.effect(
    BenchCpus,
    Effect.gen(function*() {
      const allowed = allowedCpus()
      const pid = String(process.pid)
      const usable = allowed.length >= 2 && (yield* taskset(["-p", pid]))
      if (!usable) return { split: undefined, hold: Effect.void }
      const split: CpuSplit = { client: allowed.slice(0, -1).join(","), mock: String(allowed.at(-1)) }
      let holders = 0
      const hold = Effect.acquireRelease(
        Effect.suspend(
          () => (holders++ === 0 ? Effect.asVoid(taskset(["-a", "-p", "-c", split.client, pid])) : Effect.void)
        ),
        () =>
          Effect.suspend(
            () => (--holders === 0 ? Effect.asVoid(taskset(["-a", "-p", "-c", allowed.join(","), pid])) : Effect.void)
          )
      )
      return { split, hold }
    })
  )
}

/** The split in force, if the bench command provides one (scenarios run without it in tests). */
export const benchCpus: Effect.Effect<BenchCpusService | undefined> = Effect.map(
  Effect.serviceOption(BenchCpus),
  Option.getOrUndefined
)

/** CPUs this process may run on, from `/proc/self/status` (`Cpus_allowed_list: 0-3,6`). */
const allowedCpus = (): Array<number> => {
  const status = Option.liftThrowable(() => readFileSync("/proc/self/status", "utf8"))()
  if (Option.isNone(status)) return []
  const list = /^Cpus_allowed_list:\s*(\S+)$/m.exec(status.value)?.[1]
  if (list === undefined) return []
  return list.split(",").flatMap((part) => {
    const [from, to] = part.split("-").map(Number)
    if (from === undefined || !Number.isInteger(from)) return []
    const last = to === undefined ? from : to
    return Array.from({ length: last - from + 1 }, (_, i) => from + i)
  })
}

/** Runs `taskset`; `false` when it is missing or refuses (e.g. in a restricted container). */
const taskset = (args: ReadonlyArray<string>): Effect.Effect<boolean> =>
  Effect.callback<boolean>((resume) => {
    execFile("taskset", [...args], (error) => resume(Effect.succeed(error === null)))
  })

/** How results name the split: `client 0 / mock 1`, or `shared`. */
export const cpuSplitLabel: Effect.Effect<string> = Effect.map(benchCpus, (cpus) => {
  const split = cpus?.split
  return split === undefined ? "shared" : `client ${split.client} / mock ${split.mock}`
})
