import { setFlagsFromString } from "node:v8"
import { runInNewContext } from "node:vm"
import { Effect } from "effect"

/**
 * One process runs every variant and round, so without this a run pays for the garbage of the run before it: a
 * scavenge of a heap the previous run filled stalls the event loop for 5–15 ms, and in a run's first milliseconds
 * that stall holds back its whole first wave. A full collection before each timed run starts every variant from a
 * clean heap, as a fresh process would. (`--expose-gc` set at runtime; V8 hands `gc` to new contexts only.)
 */
const fullGc: (() => void) | undefined = (() => {
  setFlagsFromString("--expose-gc")
  const gc: unknown = runInNewContext("gc")
  return typeof gc === "function" ? () => gc() : undefined
})()

export const collectGarbage: Effect.Effect<void> = Effect.sync(() => fullGc?.())
