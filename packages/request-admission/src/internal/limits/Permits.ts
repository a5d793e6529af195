/**
 * One admission limit: an Effect `Semaphore` used only without waiting. Taking (`takeIfAvailable`), returning
 * (`release`) and resizing are O(1) as long as no fiber parks on it, and none ever does: waiters park in our own
 * weighted-fair queue (a parked fiber would make every release scan all of them). The free count is read from the
 * semaphore itself (`release(0)`, negative after a shrink), never from a counter of our own.
 *
 * A size is decided inside a synchronous step (AIMD, a cap change) and applied by `follow` afterwards, as an
 * effect: other fibers may run in between. While a resize is pending, the semaphore may still be larger than the
 * limit, so admissions that find `resizing > 0` hand their permits back instead of committing.
 */
import { Effect, type Option, Semaphore } from "effect"

export class Permits {
  /** `takeIfAvailable(1)`: one permit if one is free. */
  readonly take: Effect.Effect<boolean>
  /** `release(1)`: one permit back; returns the free count. */
  readonly give: Effect.Effect<number>
  /** `release(0)`: the free count, negative while more are taken than a shrink left. */
  readonly free: Effect.Effect<number>
  /**
   * `withPermitsIfAvailable(1)`: runs the effect holding one permit if one is free (`None` otherwise); the permit
   * comes back when the effect ends, however it ends.
   */
  readonly ifAvailable: <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.Effect<Option.Option<A>, E, R>

  /** Resizes decided and not yet applied by `follow`. */
  resizing = 0
  /** Applies the size decided last; see `changed`. */
  readonly follow: Effect.Effect<void>

  constructor(readonly target: () => number) {
    const semaphore = Semaphore.makeUnsafe(target())
    this.ifAvailable = semaphore.withPermitsIfAvailable(1)
    this.take = semaphore.takeIfAvailable(1)
    this.give = semaphore.release(1)
    this.free = semaphore.release(0)
    const done = Effect.sync(() => {
      this.resizing--
    })
    // Another fiber may resize between our read of the size and our resize: whoever resizes last checks that
    // the size it set is still the one decided, and resizes again otherwise.
    const converge: Effect.Effect<void> = Effect.suspend(() => {
      const size = this.target()
      return Effect.flatMap(semaphore.resize(size), () => size === this.target() ? done : converge)
    })
    this.follow = converge
  }

  /** The size changed (inside a synchronous step): `follow` must run once for this call. */
  changed(): void {
    this.resizing++
  }
}
