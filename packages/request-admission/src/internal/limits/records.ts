/**
 * The limits of one provider/model (`Pool`: the static cap) and of one provider/model/domain (`Domain`: the
 * adaptive limit and its AIMD state). Each holds its `Permits` semaphore; a lease holds one permit of its domain
 * and one of its pool. AIMD state changes only inside synchronous steps (see `aimd.ts`).
 */
import type { ProviderModelKey, RequestResourceKey } from "@sluice/scheduling-resources"
import { Effect, type Option } from "effect"
import type { ReleaseOutcomeKind } from "../../ReleaseOutcome.js"
import { DomainQueue, PoolQueue } from "../queue/WaiterQueue.js"
import { admissionLimit } from "./arithmetic.js"
import type { Budget } from "./budget.js"
import { Permits } from "./Permits.js"

export class Pool {
  readonly capsByAlias = new Map<string, number>()
  /** Sized to `staticCap`; every lease of any domain holds one permit. */
  readonly permits: Permits
  /** Leases in flight over every domain. */
  inFlight = 0
  readonly domains: Array<Domain> = []
  readonly queue = new PoolQueue()
  /** The RPM / TPM budget shared by every domain (`budget.ts`); `undefined`: none, and the hot path stays open. */
  budget: Budget | undefined = undefined
  /**
   * A pump serves this pool's queue now (`Pump.ts`), and whether another was asked for meanwhile: pumps of one pool
   * never run side by side, so that one's passing hold on a permit cannot make both give up.
   */
  pumping = false
  pumpAgain = false

  constructor(readonly key: ProviderModelKey, readonly label: string, public staticCap: number) {
    this.permits = new Permits(() => this.staticCap)
  }

  /** Waiters queued in every domain. */
  get queued(): number {
    return this.queue.queued
  }
}

/** What taking both permits of a lease gave. */
export const TAKEN = 0
/** The domain's adaptive limit is full. */
export const LIMIT_FULL = 1
/** The provider/model's static cap is full. */
export const CAP_FULL = 2
export type Taken = typeof TAKEN | typeof LIMIT_FULL | typeof CAP_FULL

const TAKEN_EFFECT = Effect.succeed<Taken>(TAKEN)
const LIMIT_FULL_EFFECT = Effect.succeed<Taken>(LIMIT_FULL)
const CAP_FULL_EFFECT = Effect.succeed<Taken>(CAP_FULL)

export interface DomainStart {
  readonly limit: number
  readonly ramp: boolean
  readonly slowStart: boolean
  readonly window: number
  readonly now: number
}

export class Domain {
  /** Sized to the admission limit (the adaptive limit, or the slow-start window while it is smaller). */
  readonly permits: Permits
  readonly queue: DomainQueue
  /** One permit of the domain and one of its pool, or neither. */
  readonly takeBoth: Effect.Effect<Taken>
  /** Returns the two permits of one lease. */
  readonly giveBoth: Effect.Effect<void>
  /** Returns a lease's permits, then serves the queue: built once, on the first release (`Release.ts`). */
  giveBack: Effect.Effect<void> | undefined = undefined
  /**
   * Runs the effect holding one permit of the pool and one of the domain if both are free (`withPermitsIfAvailable`
   * of each); they come back when it ends, however it ends. `None` outside: the static cap is full; `None`
   * inside: the adaptive limit is.
   */
  readonly withBoth: <A, E, R>(
    effect: Effect.Effect<A, E, R>
  ) => Effect.Effect<Option.Option<Option.Option<A>>, E, R>

  currentLimit: number
  inFlight = 0
  /** Clock ms until which the domain is closed after a 429 (0 = never blocked). */
  blockedUntil = 0
  /** A cooldown is active and its end has not been announced yet. */
  cooling = false
  successStreak = 0
  rateLimitCeiling = 0
  consecutiveRateLimits = 0
  lastOutcome: ReleaseOutcomeKind | null = null
  /** A decrease happened and the limit is not yet back at the effective max. */
  recovering = false
  softCeilingPending = false
  rampActive: boolean
  readonly rampStartedAt: number
  /**
   * Half-open cooldown: a success arrived during the cooldown and no probe is in flight, so exactly one
   * admission may happen (it becomes the probe).
   */
  halfOpen = false
  /** Lease id of the half-open probe in flight (0 = none). */
  probeLeaseId = 0
  /** Consecutive failed probes at the rate-limit ceiling (k: an increase to it needs 2^k × the successes). */
  probeFailures = 0
  /** Slow start: admissions are bounded by `window` until it reaches the limit or a 429 arrives. */
  slowStart: boolean
  window: number
  /** The window is a fresh resource's first wave: the first success opens it (a cap raise's grows by one). */
  firstWave: boolean
  /** Clock ms at which a full first wave opens if no 429 came back (Infinity: not full yet, or no probe). */
  firstWaveOpensAt = Infinity
  timerRunning = false
  /** Identifies the current timer fiber (an older one that wakes up stops); its wake-up time. */
  timerEpoch = 0
  timerWakeAt = 0

  /** Position in `pool.domains`. */
  readonly index: number

  constructor(
    readonly resource: RequestResourceKey,
    readonly label: string,
    readonly pool: Pool,
    start: DomainStart
  ) {
    this.index = pool.domains.length
    this.currentLimit = start.limit
    this.rampActive = start.ramp
    this.rampStartedAt = start.now
    this.slowStart = start.slowStart
    this.window = start.window
    this.firstWave = start.slowStart
    this.queue = new DomainQueue(pool.queue)
    const permits = new Permits(() => admissionLimit(this))
    this.permits = permits
    const poolPermits = pool.permits
    const giveDomain = Effect.asVoid(permits.give)
    this.takeBoth = Effect.flatMap(permits.take, (domainTaken) =>
      domainTaken
        ? Effect.flatMap(poolPermits.take, (poolTaken) =>
          poolTaken ? TAKEN_EFFECT : Effect.andThen(giveDomain, CAP_FULL_EFFECT))
        : LIMIT_FULL_EFFECT)
    this.giveBoth = Effect.andThen(permits.give, Effect.asVoid(poolPermits.give))
    const withPool = poolPermits.ifAvailable
    const withDomain = permits.ifAvailable
    this.withBoth = (effect) => withPool(withDomain(effect))
  }

  get waiters(): number {
    return this.queue.waiters
  }

  /** The semaphores may be larger than the limits: a resize was decided and has not been applied yet. */
  get resizing(): boolean {
    return this.permits.resizing !== 0 || this.pool.permits.resizing !== 0
  }
}
