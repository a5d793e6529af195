import { assert, describe, it } from "@effect/vitest"
import { requestResourceKey } from "@sluice/scheduling-resources"
import { Effect, Exit, Stream } from "effect"
import { modelMetadata } from "@sluice/resolver"
import { makeScheduler, type RequestCapacitySource } from "../src/index.js"
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

/** A ledger over resources r0, r1, … with these limits; groups g0, g1, … */
const ledgerOf = (
  limits: ReadonlyArray<number>,
  groups: ReadonlyArray<{ weight: number; admittedLimit: number | undefined; resources: ReadonlyArray<number> }>,
  policy: "bounded-borrow" | "strict-fair"
) =>
  new AdmissionLedger(
    limits.map((limit, i) => ({ key: `r${i}`, limit })),
    groups.map((g, i) => ({ ...g, key: `g${i}` })),
    policy
  )

/** Evaluates `group` on the ledger's view of the semaphores and, when admitted, grants its lease and takes its permits. */
const tryAcquire = (ledger: AdmissionLedger, group: number, peers: ReadonlyArray<number>) =>
  Effect.gen(function*() {
    const reason = ledger.evaluate(group, peers)
    if (reason === undefined) {
      ledger.acquire(group)
      yield* ledger.takeGranted
    }
    return reason
  })

describe("admission ledger", () => {
  it.effect("bounded borrow: a lone heavy group fills every slot with debt, then yields to a new peer", () =>
    Effect.gen(function*() {
      // resources: 0 submission, 1 llm_wait — weight 4, admitted limit 8, limits 8.
      const ledger = ledgerOf([1024, 8], [
        { weight: 4, admittedLimit: 8, resources: [0, 1] },
        { weight: 1, admittedLimit: 2, resources: [0, 1] }
      ], "bounded-borrow")
      for (let i = 0; i < 8; i++) assert.isUndefined(yield* tryAcquire(ledger, 0, [0]))
      assert.strictEqual(yield* tryAcquire(ledger, 0, [0]), "no_capacity")
      yield* ledger.release(0)
      // The peer's head could start now: the indebted heavy group must yield.
      assert.strictEqual(ledger.evaluate(0, [0, 1]), "borrow_debt")
      assert.isUndefined(ledger.evaluate(1, [0, 1]))
    }))

  it.effect("every limit is a semaphore: free permits are read from it, and a full release leaves them all free", () =>
    Effect.gen(function*() {
      const ledger = ledgerOf([1024, 8], [{ weight: 1, admittedLimit: 2, resources: [0, 1] }], "bounded-borrow")
      // A lone group may borrow every llm_wait slot, beyond its admitted limit of 2.
      for (let i = 0; i < 8; i++) assert.isUndefined(yield* tryAcquire(ledger, 0, [0]))
      assert.strictEqual(yield* ledger.gates[1]!.semaphore.release(0), 0)
      assert.strictEqual(yield* ledger.gates[0]!.leased, 8)
      // The group's admitted limit is held as 2 permits; the other 6 leases are over it.
      assert.strictEqual(yield* ledger.groupGates[0]!.leased, 2)
      for (let i = 0; i < 6; i++) yield* ledger.release(0)
      // Releases end the leases over the cap first: the group still holds its 2 permits for its 2 leases.
      assert.strictEqual(yield* ledger.groupGates[0]!.leased, 2)
      assert.strictEqual(yield* ledger.gates[1]!.leased, 2)
      yield* ledger.release(0)
      yield* ledger.release(0)
      for (const gate of [...ledger.gates, ledger.groupGates[0]!]) assert.strictEqual(yield* gate.leased, 0, gate.key)
      assert.strictEqual(ledger.debtEntries(), 0)
      assert.deepStrictEqual(ledger.gates.map((g) => g.maxLeased), [8, 8])
    }))

  it.effect("a limit resized below what is leased keeps holders and admits nobody until leased < limit", () =>
    Effect.gen(function*() {
      const ledger = ledgerOf([8], [{ weight: 1, admittedLimit: undefined, resources: [0] }], "strict-fair")
      for (let i = 0; i < 8; i++) assert.isUndefined(yield* tryAcquire(ledger, 0, [0]))
      yield* ledger.resize(0, 6)
      assert.strictEqual(yield* ledger.gates[0]!.semaphore.release(0), -2)
      yield* ledger.release(0)
      yield* ledger.release(0)
      assert.strictEqual(ledger.evaluate(0, [0]), "no_capacity")
      yield* ledger.release(0)
      assert.isUndefined(ledger.evaluate(0, [0]))
    }))

  it.effect("strict-fair caps a group at its admitted limit only under peer pressure", () =>
    Effect.gen(function*() {
      const ledger = ledgerOf([8, 8], [
        { weight: 1, admittedLimit: 2, resources: [0, 1] },
        { weight: 1, admittedLimit: 2, resources: [0, 1] }
      ], "strict-fair")
      assert.isUndefined(yield* tryAcquire(ledger, 0, [0]))
      assert.isUndefined(yield* tryAcquire(ledger, 0, [0]))
      assert.isUndefined(ledger.evaluate(0, [0]))
      assert.strictEqual(ledger.evaluate(0, [0, 1]), "group_cap")
    }))
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
