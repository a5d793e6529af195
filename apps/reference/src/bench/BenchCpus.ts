import { execFile } from "node:child_process"
import { readFileSync } from "node:fs"
import { Context, Effect, Layer, Option } from "effect"

/**
 * How `sluice bench` shares the machine between the client under test and its mock providers (peers.md §4c):
 * the mock child processes on one core of their own, the bench process — Sluice or the peer being measured —
 * on the others. Without it the two compete for the same cores and the scheduler's placement adds noise that
 * is larger than the differences the peers comparison measures.
 */
export interface CpuSplit {
  /** `taskset` CPU list of the bench process while it runs. */
  readonly client: string
  /** `taskset` CPU list every mock child is started on. */
  readonly mock: string
}

/** The bench command's CPU split; `split` is undefined when nothing could be pinned. */
export class BenchCpus extends Context.Service<BenchCpus, { readonly split: CpuSplit | undefined }>()(
  "@sluice/reference/BenchCpus"
) {
  /**
   * Pins this process (every thread) to all allowed CPUs but the last and reserves the last for mock children;
   * restores the original affinity when the layer's scope closes. Pins nothing on fewer than two CPUs, off
   * Linux, or without `taskset` (util-linux).
   */
  static readonly layer: Layer.Layer<BenchCpus> = Layer.effect(
    BenchCpus,
    Effect.gen(function*() {
      const allowed = allowedCpus()
      if (allowed.length < 2) return { split: undefined }
      const split: CpuSplit = { client: allowed.slice(0, -1).join(","), mock: String(allowed.at(-1)) }
      const pinned = yield* Effect.acquireRelease(
        taskset(["-a", "-p", "-c", split.client, String(process.pid)]),
        (ok) => (ok ? Effect.asVoid(taskset(["-a", "-p", "-c", allowed.join(","), String(process.pid)])) : Effect.void)
      )
      return { split: pinned ? split : undefined }
    })
  )
}

/** The split in force, if the bench command pinned the process (scenarios run without it in tests). */
export const benchCpus: Effect.Effect<CpuSplit | undefined> = Effect.map(
  Effect.serviceOption(BenchCpus),
  (service) => Option.getOrUndefined(service)?.split
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
export const cpuSplitLabel: Effect.Effect<string> = Effect.map(
  benchCpus,
  (split) => (split === undefined ? "shared" : `client ${split.client} / mock ${split.mock}`)
)
