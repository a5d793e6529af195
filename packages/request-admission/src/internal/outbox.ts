/**
 * The outbox: everything a synchronous step wants to tell the outside world.
 *
 * Two things are never done inside a bookkeeping step, because both run other fibers inline
 * (re-entrancy, and stack depth with long hand-off chains): waking a waiter and publishing an event
 * or a capacity view. They are queued here and flushed, in order, from a task on
 * the scheduler's dispatcher. The outbox also owns the event sequence and the subscriber counts, so
 * that nothing is built when nobody listens.
 */
import { Effect, type Fiber, PubSub, Stream } from "effect"
import type { RequestEvent, RequestEventInput } from "../RequestEvent.js"
import type { RequestCapacityView } from "@sluice/scheduling-resources"
import { deliverGrant, type Waiter } from "./state.js"

export class Outbox {
  /** Side effects in order; a waiter stands for the delivery of its lease (no closure per hand-off). */
  private readonly entries: Array<(() => void) | Waiter> = []
  private flushScheduled = false
  private eventSequence = 0
  eventSubscribers = 0
  capacitySubscribers = 0
  droppedEvents = 0

  readonly events: Stream.Stream<RequestEvent>
  readonly capacityChanges: Stream.Stream<RequestCapacityView>

  constructor(
    readonly eventHub: PubSub.PubSub<RequestEvent>,
    readonly capacityHub: PubSub.PubSub<RequestCapacityView>
  ) {
    this.events = subscribe(eventHub, (delta) => {
      this.eventSubscribers += delta
    })
    this.capacityChanges = subscribe(capacityHub, (delta) => {
      this.capacitySubscribers += delta
    })
  }

  private readonly flush = () => {
    const entries = this.entries
    try {
      // Entries appended while flushing (by fibers resumed inline here) run in this same loop.
      for (let i = 0; i < entries.length; i++) {
        const entry = entries[i]!
        if (typeof entry === "function") entry()
        else deliverGrant(entry)
      }
    } finally {
      entries.length = 0
      this.flushScheduled = false
    }
  }

  /** Queues a side effect for the next flush (call `schedule` once the step is done). */
  push(entry: () => void): void {
    this.entries.push(entry)
  }

  /** Queues the delivery of a granted waiter's lease for the next flush. */
  pushGrant(waiter: Waiter): void {
    this.entries.push(waiter)
  }

  /** Makes sure a flush runs after the current step (cheap when one is already scheduled). */
  schedule(fiber: Fiber.Fiber<unknown, unknown>): void {
    if (!this.flushScheduled && this.entries.length > 0) {
      this.flushScheduled = true
      fiber.currentDispatcher.scheduleTask(this.flush, 0)
    }
  }

  /** Events are built only when somebody listens: callers check this first, and that is the whole cost otherwise. */
  listening(): boolean {
    return this.eventSubscribers > 0
  }

  emit(now: number, input: RequestEventInput): void {
    const event: RequestEvent = { ...input, sequence: ++this.eventSequence, atMillis: now }
    this.entries.push(() => {
      if (!PubSub.publishUnsafe(this.eventHub, event)) this.droppedEvents++
    })
  }

  /** Publishes a capacity view (built by the caller only if `capacityListening()`). */
  publishView(view: RequestCapacityView): void {
    this.entries.push(() => {
      PubSub.publishUnsafe(this.capacityHub, view)
    })
  }

  capacityListening(): boolean {
    return this.capacitySubscribers > 0
  }
}

/** A stream of a hub that counts itself as a subscriber while it runs. */
const subscribe = <A>(hub: PubSub.PubSub<A>, count: (delta: number) => void): Stream.Stream<A> =>
  Stream.unwrap(
    Effect.gen(function*() {
      yield* Effect.acquireRelease(Effect.sync(() => count(1)), () => Effect.sync(() => count(-1)))
      return Stream.fromSubscription(yield* PubSub.subscribe(hub))
    })
  )

export const makeOutbox = Effect.fnUntraced(function*(bufferSize: number) {
  return new Outbox(
    yield* PubSub.bounded<RequestEvent>(bufferSize),
    yield* PubSub.bounded<RequestCapacityView>(bufferSize)
  )
})
