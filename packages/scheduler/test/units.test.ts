import { assert, describe, it } from "@effect/vitest"
import { requestResourceKey } from "@sluice/scheduling-resources"
import { Effect, Exit, Stream } from "effect"
import { makeScheduler, modelMetadata, type RequestCapacitySource } from "../src/index.js"
import { AdmissionLedger } from "../src/internal/admission.js"
import { FairQueue } from "../src/internal/fairQueue.js"
import { RetryLedger } from "../src/internal/retryLedger.js"
import { makeTask, type Task } from "../src/internal/task.js"
import { checkInvariants, memorySink, runTest } from "./helpers.js"

const task = (generator: number, i: number): Task =>
  makeTask(`cell:0:${i}:g${generator}` as never, generator, 0, i, "cell", 0)

describe("fair queue", () => {
  it("equal weights round-robin in activation order", () => {
    const q = new FairQueue([1, 1, 1])
    for (let i = 0; i < 3; i++) for (const g of [0, 1, 2]) q.enqueue(task(g, i))
    const order: Array<number> = []
    for (let i = 0; i < 6; i++) {
      const t = q.select(() => true)!
      q.commit(t)
      order.push(t.generator)
    }
    assert.deepStrictEqual(order, [0, 1, 2, 0, 1, 2])
  })

  it("weights 2:1 give 4:2 in six picks; discarded tasks are skipped; state stays bounded", () => {
    const q = new FairQueue([2, 1])
    for (let i = 0; i < 1000; i++) for (const g of [0, 1]) q.enqueue(task(g, i))
    const counts = [0, 0]
    for (let i = 0; i < 6; i++) {
      const t = q.select(() => true)!
      q.commit(t)
      counts[t.generator]!++
    }
    assert.deepStrictEqual(counts, [4, 2])
    const next = q.head(1)!
    q.discard(next)
    assert.notStrictEqual(q.head(1), next)
    while (q.size > 0) q.commit(q.select(() => true)!)
    assert.deepStrictEqual(q.stats().heapEntries, 0)
  })

  it("ineligible heads are passed over without losing their place", () => {
    const q = new FairQueue([1, 1])
    q.enqueue(task(0, 0))
    q.enqueue(task(1, 0))
    const t = q.select((x) => x.generator === 1)!
    assert.strictEqual(t.generator, 1)
    q.commit(t)
    assert.strictEqual(q.select(() => true)!.generator, 0)
  })
})

describe("admission ledger", () => {
  it("bounded borrow: a lone heavy group fills every slot with debt, then yields to a new peer", () => {
    // resources: 0 submission, 1 llm_wait — weight 4, admitted limit 8, limits 8.
    const ledger = new AdmissionLedger([1024, 8], [
      { weight: 4, admittedLimit: 8, resources: [0, 1] },
      { weight: 1, admittedLimit: 2, resources: [0, 1] }
    ], "bounded-borrow")
    for (let i = 0; i < 8; i++) {
      assert.isUndefined(ledger.evaluate(0, [0]))
      ledger.acquire(0)
    }
    assert.strictEqual(ledger.evaluate(0, [0]), "no_capacity")
    ledger.release(0)
    // The peer's head could start now: the indebted heavy group must yield.
    assert.strictEqual(ledger.evaluate(0, [0, 1]), "borrow_debt")
    assert.isUndefined(ledger.evaluate(1, [0, 1]))
  })

  it("a limit lowered below what is leased keeps holders and admits nobody until leased < limit", () => {
    const ledger = new AdmissionLedger([8], [{ weight: 1, admittedLimit: undefined, resources: [0] }], "strict-fair")
    for (let i = 0; i < 8; i++) ledger.acquire(0)
    ledger.setLimit(0, 6)
    ledger.release(0)
    ledger.release(0)
    assert.strictEqual(ledger.evaluate(0, [0]), "no_capacity")
    ledger.release(0)
    assert.isUndefined(ledger.evaluate(0, [0]))
  })

  it("strict-fair caps a group at its admitted limit only under peer pressure", () => {
    const ledger = new AdmissionLedger([8, 8], [
      { weight: 1, admittedLimit: 2, resources: [0, 1] },
      { weight: 1, admittedLimit: 2, resources: [0, 1] }
    ], "strict-fair")
    ledger.acquire(0)
    ledger.acquire(0)
    assert.isUndefined(ledger.evaluate(0, [0]))
    assert.strictEqual(ledger.evaluate(0, [0, 1]), "group_cap")
  })
})

describe("retry ledger", () => {
  it("releases tasks in due order and skips purged ones", () => {
    const ledger = new RetryLedger()
    const a = task(0, 0)
    const b = task(0, 1)
    const c = task(0, 2)
    ledger.schedule(a, 300)
    ledger.schedule(b, 100)
    ledger.schedule(c, 200)
    ledger.forget(c)
    assert.strictEqual(ledger.nextDueAt(), 100)
    const due: Array<Task> = []
    ledger.takeDue(250, (t) => due.push(t))
    assert.deepStrictEqual(due, [b])
    assert.strictEqual(ledger.nextDueAt(), 300)
    assert.strictEqual(ledger.size, 1)
  })
})

/** A capacity source whose resource is `open` (or closed, reopening after one second) at `limit`. */
const source = (open: boolean, limit: number): RequestCapacitySource => {
  const view = {
    resource: requestResourceKey("p", "m", "chat"),
    limit,
    staticCap: 4,
    open,
    blockedUntilMillis: null,
    inFlight: 0,
    waiters: 0
  }
  return {
    capacity: () => Effect.sync(() => view),
    capacityChanges: open ? Stream.never : Stream.fromEffect(
      Effect.sleep("1 second").pipe(Effect.map(() => {
        view.open = true
        return view
      }))
    )
  }
}

describe("deadlock guard", () => {
  it.effect("ready work that can never be admitted fails with a typed error instead of hanging", () =>
    Effect.gen(function*() {
      const { sink, written } = memorySink()
      const scheduler = yield* makeScheduler({
        rows: 2,
        bufferSize: 2,
        sink,
        columns: [{
          name: "x",
          strategy: "cell",
          scheduling: modelMetadata("p", "m", "chat", 4),
          generate: () => Effect.succeed({ x: 1 })
        }]
      }, { requestCapacity: source(true, 0) })
      const exit = yield* Effect.exit(scheduler.run)
      assert.isTrue(Exit.isFailure(exit))
      if (Exit.isFailure(exit)) {
        const text = String(exit.cause)
        assert.include(text, "SchedulerDeadlockError")
        assert.include(text, "request:p/m")
      }
      yield* checkInvariants(scheduler, written, undefined)
    }))

  it.effect("a cooling resource is not a deadlock: the run waits for it to reopen", () =>
    Effect.gen(function*() {
      const { result } = yield* runTest({
        rows: 2,
        bufferSize: 2,
        columns: [{
          name: "x",
          strategy: "cell",
          scheduling: modelMetadata("p", "m", "chat", 4),
          generate: () => Effect.succeed({ x: 1 })
        }]
      }, { requestCapacity: source(false, 4) })
      assert.strictEqual(result.rowsCompleted, 2)
    }))
})
