import { assert } from "@effect/vitest"
import { Effect } from "effect"
import type { Checkpoint, CheckpointSink, Scheduler, SchedulerResult } from "../src/index.js"

/** An in-memory checkpoint sink that remembers every write. */
export const memorySink = (): { readonly sink: CheckpointSink; readonly written: Array<Checkpoint> } => {
  const written: Array<Checkpoint> = []
  return {
    written,
    sink: { write: (checkpoint) => Effect.sync(() => void written.push(checkpoint)) }
  }
}

/** Leases and waiters of the request layer, when the test has one. */
export interface RequestLayerProbe {
  readonly leases: () => number
  readonly waiters: () => number
}

/**
 * The invariants every scheduler test checks at the end, on success, failure, cancellation and shutdown alike:
 * zero task leases, zero request leases, zero request waiters, every requested row either completed or dropped
 * with a cause, no row group or row checkpointed twice, and checkpoints holding exactly the completed rows.
 */
export const checkInvariants = (
  scheduler: Scheduler<any>,
  written: ReadonlyArray<Checkpoint>,
  result: SchedulerResult | undefined,
  requestLayer?: RequestLayerProbe
) =>
  Effect.gen(function*() {
    const stats = yield* scheduler.stats
    assert.strictEqual(stats.taskLeases, 0, "task leases")
    assert.strictEqual(stats.runningTasks, 0, "running tasks")
    for (const [resource, leased] of Object.entries(stats.leasedByResource)) {
      assert.strictEqual(leased, 0, `leased ${resource}`)
    }
    if (requestLayer !== undefined) {
      assert.strictEqual(requestLayer.leases(), 0, "request leases")
      assert.strictEqual(requestLayer.waiters(), 0, "request waiters")
    }
    const groups = new Set<number>()
    const rows = new Set<number>()
    for (const checkpoint of written) {
      assert.isFalse(groups.has(checkpoint.rowGroup), `row group ${checkpoint.rowGroup} written twice`)
      groups.add(checkpoint.rowGroup)
      assert.strictEqual(checkpoint.rows.length, checkpoint.rowIndexes.length)
      for (const i of checkpoint.rowIndexes) {
        const row = checkpoint.firstRow + i
        assert.isFalse(rows.has(row), `row ${row} written twice`)
        rows.add(row)
      }
    }
    if (result === undefined) return
    const dropped = new Set<number>()
    for (const d of result.droppedRows) {
      assert.isFalse(dropped.has(d.row), `row ${d.row} dropped twice`)
      assert.isFalse(rows.has(d.row), `row ${d.row} both dropped and written`)
      assert.isString(d.cause.kind)
      dropped.add(d.row)
    }
    assert.strictEqual(rows.size, result.rowsCompleted, "written rows = completed rows")
    assert.strictEqual(
      result.rowsCompleted + result.rowsDropped + result.rowsResumed,
      result.rowsRequested,
      "every row completed, dropped with a cause, or resumed"
    )
    const causeTotal = Object.values(result.dropCauses).reduce((a, b) => a + (b ?? 0), 0)
    assert.strictEqual(causeTotal, result.rowsDropped, "dropCauses add up")
    assert.strictEqual(stats.activeRowGroups, 0, "no row group left admitted")
    assert.strictEqual(stats.liveTasks, 0, "no task left alive")
  })

import { Exit, Fiber, Stream } from "effect"
import { makeScheduler, type SchedulerEvent, type SchedulerOptions, type SchedulerSpec } from "../src/index.js"
import { driveClock } from "./fakes.js"

/**
 * Builds a scheduler, subscribes to its events, runs it on the TestClock (advanced in `stepMs` steps), then
 * checks the invariants. Returns the scheduler, the run's exit, the written checkpoints and the events.
 */
export const runTest = <R>(
  spec: Omit<SchedulerSpec<R>, "sink"> & { readonly sink?: SchedulerSpec<R>["sink"] },
  options: SchedulerOptions = {},
  extra: { readonly stepMs?: number; readonly requestLayer?: RequestLayerProbe; readonly written?: Array<Checkpoint> } =
    {}
) =>
  Effect.gen(function*() {
    const memory = memorySink()
    const written = extra.written ?? memory.written
    const scheduler = yield* makeScheduler<R>({ ...spec, sink: spec.sink ?? memory.sink } as SchedulerSpec<R>, options)
    const eventsFiber = yield* Effect.forkChild(Stream.runCollect(scheduler.events), { startImmediately: true })
    const fiber = yield* Effect.forkChild(scheduler.run, { startImmediately: true })
    const exit = yield* driveClock(fiber, extra.stepMs ?? 10)
    const events: ReadonlyArray<SchedulerEvent> = yield* Fiber.join(eventsFiber)
    const result = Exit.isSuccess(exit) ? exit.value : undefined
    yield* checkInvariants(scheduler, written, result, extra.requestLayer)
    return { scheduler, exit, result: result!, written, events }
  })
