/**
 * The controller's shared state: configuration, the registry of pools, the outbox and the pending
 * work, and the global counters of the leak view. Each module of the controller gets this one
 * object; none keeps state of its own.
 */
import type { Effect, Fiber, Scope } from "effect"
import type { ResolvedConfig } from "../config.js"
import type { Outbox } from "./outbox.js"
import type { Pool } from "./state.js"
import { Work } from "./work.js"

export class Core {
  readonly work: Work
  readonly pools = new Map<string, Pool>()
  /** Pools by provider, then model: no label string is built on the hot path. */
  readonly poolsByProvider = new Map<string, Map<string, Pool>>()
  /** Identifies this controller's leases. */
  readonly owner = {}
  shutdown = false
  activeLeases = 0
  waiters = 0
  leaseSeq = 0
  duplicateReleases = 0
  foreignReleases = 0
  /** Hands free capacity of a pool to its queued waiters (set once by the hand-off module). */
  pump: (pool: Pool) => Effect.Effect<void> = undefined as never
  /** `pump` inside a synchronous step of `fiber`. */
  pumpNow: (pool: Pool, fiber: Fiber.Fiber<unknown, unknown>) => void = undefined as never

  constructor(readonly config: ResolvedConfig, readonly outbox: Outbox, readonly scope: Scope.Scope) {
    this.work = new Work(config, outbox)
  }

  poolOf(key: { readonly provider: string; readonly model: string }): Pool | undefined {
    return this.poolsByProvider.get(key.provider)?.get(key.model)
  }
}
