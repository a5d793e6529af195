/**
 * The outbox: everything a synchronous step wants to tell the outside world — waiter wake-ups, events and
 * capacity views — delivered in order after the step, never inside it. Delivering runs other fibers inline (a
 * woken waiter continues at once, a subscriber takes its event), which inside a bookkeeping step would mean
 * re-entrancy and, with long hand-off chains, deep stacks.
 *
 * Deliveries run on the outbox's own fiber, woken through the scheduler after the step that queued them. A
 * delivery that throws (the code it runs inline is somebody else's) is reported, and the entries after it are
 * still delivered: no waiter is stranded holding a lease. The outbox also owns the event sequence and the
 * subscriber counts, so that nothing is built when nobody listens.
 */
import type { RequestCapacityView } from "@sluice/scheduling-resources"
import { Effect, type Fiber, PubSub, type Scope, Stream } from "effect"
import type { RequestEvent, RequestEventInput } from "../../RequestEvent.js"
import { deliverGrant, type Waiter } from "../queue/WaiterQueue.js"

/** A side effect, or a granted waiter whose lease is to be delivered (no closure per hand-off). */
type Entry = (() => void) | Waiter

export class Outbox {
  private readonly entries: Array<Entry | undefined> = []
  /** Index of the next entry to deliver. */
  private next = 0
  /** A flush is due (woken or running): `schedule` does nothing more. */
  private scheduled = false
  /** A flush is running; entries queued meanwhile (by fibers it resumed) are delivered by the same flush. */
  private flushing = false
  /** The outbox fiber's resume while it is parked. */
  private wakeFiber: ((effect: Effect.Effect<void>) => void) | undefined = undefined
  private eventSequence = 0
  private eventSubscribers = 0
  private capacitySubscribers = 0
  /** Events not delivered because a subscriber was more than the buffer behind. */
  droppedEvents = 0

  readonly events: Stream.Stream<RequestEvent>
  readonly capacityChanges: Stream.Stream<RequestCapacityView>

  constructor(
    private readonly eventHub: PubSub.PubSub<RequestEvent>,
    private readonly capacityHub: PubSub.PubSub<RequestCapacityView>
  ) {
    this.events = subscribe(eventHub, (delta) => {
      this.eventSubscribers += delta
    })
    this.capacityChanges = subscribe(capacityHub, (delta) => {
      this.capacitySubscribers += delta
    })
  }

  /** Events are built only when somebody listens: callers check this first, and that is the whole cost otherwise. */
  listening(): boolean {
    return this.eventSubscribers > 0
  }

  capacityListening(): boolean {
    return this.capacitySubscribers > 0
  }

  /** Numbers and timestamps an event and queues it (call only when `listening()`). */
  emit(now: number, input: RequestEventInput): void {
    const event = { ...input, sequence: ++this.eventSequence, atMillis: now } as RequestEvent
    this.entries.push(() => {
      if (!PubSub.publishUnsafe(this.eventHub, event)) this.droppedEvents++
    })
  }

  /** Queues a capacity view (built by the caller only if `capacityListening()`). */
  publishView(view: RequestCapacityView): void {
    this.entries.push(() => {
      PubSub.publishUnsafe(this.capacityHub, view)
    })
  }

  /** Queues a side effect. */
  push(entry: () => void): void {
    this.entries.push(entry)
  }

  /** Queues the delivery of a granted waiter's lease. */
  pushGrant(waiter: Waiter): void {
    this.entries.push(waiter)
  }

  /** Makes sure what was queued is delivered after the current step (cheap when a flush is already due). */
  schedule(fiber: Fiber.Fiber<unknown, unknown>): void {
    if (!this.scheduled && this.next < this.entries.length) {
      this.scheduled = true
      fiber.currentDispatcher.scheduleTask(this.wake, 0)
    }
  }

  private readonly wake = (): void => {
    const resume = this.wakeFiber
    if (resume !== undefined) {
      this.wakeFiber = undefined
      resume(Effect.void)
    }
  }

  private readonly drain: Effect.Effect<void> = Effect.sync(() => {
    this.flushing = true
    const entries = this.entries
    while (this.next < entries.length) {
      const entry = entries[this.next]!
      // Taken out before it runs: if it throws, it is not delivered twice.
      entries[this.next++] = undefined
      if (typeof entry === "function") entry()
      else deliverGrant(entry)
    }
    entries.length = 0
    this.next = 0
    this.flushing = false
    this.scheduled = false
  })

  /** Delivers everything queued, in order; a delivery that throws is reported and the rest still go out. */
  readonly flush: Effect.Effect<void> = Effect.suspend(() =>
    this.flushing || this.next >= this.entries.length ? Effect.void : this.isolatedDrain
  )

  private readonly isolatedDrain: Effect.Effect<void> = Effect.catchDefect(this.drain, (defect) => {
    this.flushing = false
    return Effect.andThen(
      Effect.logWarning("request admission: a delivery threw; the remaining deliveries go on", defect),
      this.flush
    )
  })

  private readonly park: Effect.Effect<void> = Effect.callback<void>((resume) => {
    if (this.next < this.entries.length) resume(Effect.void)
    else this.wakeFiber = resume
  })

  /** The outbox fiber: parks until woken, flushes, and again. */
  readonly run: Effect.Effect<never> = Effect.forever(Effect.andThen(this.park, this.flush))
}

/** A stream of a hub that counts itself as a subscriber while it runs. */
const subscribe = <A>(hub: PubSub.PubSub<A>, count: (delta: number) => void): Stream.Stream<A> =>
  Stream.unwrap(
    Effect.gen(function*() {
      yield* Effect.acquireRelease(Effect.sync(() => count(1)), () => Effect.sync(() => count(-1)))
      return Stream.fromSubscription(yield* PubSub.subscribe(hub))
    })
  )

/** An outbox whose fiber lives in `scope`. */
export const makeOutbox = Effect.fnUntraced(function*(bufferSize: number, scope: Scope.Scope) {
  const outbox = new Outbox(
    yield* PubSub.bounded<RequestEvent>(bufferSize),
    yield* PubSub.bounded<RequestCapacityView>(bufferSize)
  )
  yield* Effect.forkIn(outbox.run, scope, { startImmediately: true })
  return outbox
})
