import { Clock, Deferred, Effect, Exit, FiberSet, PubSub, Random, Stream } from "effect"
import {
  CheckpointWriteError,
  type SchedulerConfigError,
  SchedulerDeadlockError,
  type SchedulerRunError
} from "./errors.js"
import type { SchedulerEvent } from "./Events.js"
import { buildGraph } from "./internal/graph.js"
import { resolveOptions } from "./internal/options.js"
import { resolveScheduling } from "./internal/resolve.js"
import { RunState, type Spawn } from "./internal/runState.js"
import { type CapacityPlan, recordRuntimeCapacity } from "@sluice/resolver"
import type {
  BatchInput,
  CellInput,
  GenerationFailure,
  SchedulerOptions,
  SchedulerResult,
  SchedulerSpec
} from "./Spec.js"

/** Internal sizes of a run, for tests and diagnostics. All are bounded by the admitted row groups. */
export interface SchedulerStats {
  readonly activeRowGroups: number
  readonly liveTasks: number
  readonly queuedTasks: number
  readonly queueHeapEntries: number
  readonly queueFifoSlots: number
  readonly retryingTasks: number
  readonly retryHeapEntries: number
  readonly runningTasks: number
  readonly taskLeases: number
  readonly leasedByResource: Readonly<Record<string, number>>
  readonly limitByResource: Readonly<Record<string, number>>
  readonly debtEntries: number
  readonly checkpointedRowGroups: number
  /**
   * Progress without subscribing to events (which are only built while someone listens): Σ rows written by
   * successful tasks (1 per cell task, the surviving rows of a full-column task)…
   */
  readonly cellsCompleted: number
  /** …rows of checkpointed row groups (surviving and dropped)… */
  readonly checkpointedRows: number
  /** …and rows dropped so far. */
  readonly rowsDropped: number
}

export interface Scheduler<R> {
  /** Runs the whole job. Row failures drop rows with a cause; only a deadlock or a sink failure fails the run. */
  readonly run: Effect.Effect<SchedulerResult, SchedulerRunError, R>
  /**
   * Scheduler events of the next run, ending with `scheduler_job_completed`. Subscribe (fork the consumer)
   * before `run`; events are only built while someone subscribes.
   */
  readonly events: Stream.Stream<SchedulerEvent>
  /** Internal sizes and progress counters of the current (or last) run; cheap enough to poll. */
  readonly stats: Effect.Effect<SchedulerStats>
}

const emptyStats: SchedulerStats = {
  activeRowGroups: 0,
  liveTasks: 0,
  queuedTasks: 0,
  queueHeapEntries: 0,
  queueFifoSlots: 0,
  retryingTasks: 0,
  retryHeapEntries: 0,
  runningTasks: 0,
  taskLeases: 0,
  leasedByResource: {},
  limitByResource: {},
  debtEntries: 0,
  checkpointedRowGroups: 0,
  cellsCompleted: 0,
  checkpointedRows: 0,
  rowsDropped: 0
}

const statsOf = <R>(state: RunState<R>): SchedulerStats => {
  const q = state.queue.stats()
  const leasedByResource: Record<string, number> = {}
  const limitByResource: Record<string, number> = {}
  state.resourceKeys.forEach((key, i) => {
    leasedByResource[key] = state.ledger.leased[i]!
    limitByResource[key] = state.ledger.limits[i]!
  })
  return {
    activeRowGroups: state.active.size,
    liveTasks: state.tasks.size,
    queuedTasks: q.queued,
    queueHeapEntries: q.heapEntries,
    queueFifoSlots: q.fifoSlots,
    retryingTasks: state.retries.size,
    retryHeapEntries: state.retries.heapEntries(),
    runningTasks: state.running,
    taskLeases: state.ledger.leases,
    leasedByResource,
    limitByResource,
    debtEntries: state.ledger.debtEntries(),
    checkpointedRowGroups: state.checkpointed,
    cellsCompleted: state.cellsCompleted,
    checkpointedRows: state.checkpointedRows,
    rowsDropped: state.droppedRows.length
  }
}

/**
 * Validates a spec and returns a scheduler for it. Invalid input fails with a `SchedulerConfigError` naming the
 * field (`rows`, `bufferSize`, `columns[1].requires[0]`, the columns of a cycle, …).
 */
export const makeScheduler = <R>(
  spec: SchedulerSpec<R>,
  options: SchedulerOptions = {}
): Effect.Effect<Scheduler<R>, SchedulerConfigError> =>
  Effect.gen(function*() {
    const resolved = yield* resolveOptions(spec, options)
    const graph = yield* buildGraph(spec.columns)
    const { generators, resources } = yield* resolveScheduling(spec.columns, options, resolved)
    const pubsub = yield* PubSub.unbounded<SchedulerEvent>()
    let subscribers = 0
    let current: RunState<R> | undefined

    const events: Stream.Stream<SchedulerEvent> = Stream.unwrap(
      Effect.gen(function*() {
        yield* Effect.acquireRelease(
          Effect.sync(() => {
            subscribers++
          }),
          () =>
            Effect.sync(() => {
              subscribers--
            })
        )
        return Stream.fromSubscription(yield* PubSub.subscribe(pubsub))
      })
    ).pipe(Stream.takeUntil((event) => event.type === "scheduler_job_completed"))

    const publish = (event: SchedulerEvent): void => {
      PubSub.publishUnsafe(pubsub, event)
    }
    const listening = (): boolean => subscribers > 0

    const run: Effect.Effect<SchedulerResult, SchedulerRunError, R> = Effect.scoped(Effect.gen(function*() {
      const clock = yield* Clock.Clock
      const now = () => clock.currentTimeMillisUnsafe()
      const fibers = yield* FiberSet.make<void, never>()
      const fork = yield* FiberSet.runtime(fibers)<R>()
      let wake = Deferred.makeUnsafe<void>()
      const signal = (): void => {
        Deferred.doneUnsafe(wake, Effect.void)
      }

      // One worker per dispatched task, forked by the dispatcher right after its step (so a generator that
      // completes synchronously never re-enters a step); its exit — success, typed failure, defect or
      // interruption — releases the lease once. It starts at once: no extra event-loop turn before generating.
      const workerOf = (spawn: Spawn): Effect.Effect<void, never, R> => {
        const { dispatch, input, task } = spawn
        const column = spec.columns[task.generator]!
        const generate: Effect.Effect<unknown, GenerationFailure, R> = Effect.suspend(
          (): Effect.Effect<unknown, GenerationFailure, R> =>
            column.strategy === "cell"
              ? column.generate(input as CellInput)
              : column.generate(input as BatchInput)
        )
        // The retry jitter is only drawn for a failure: a success allocates nothing for it.
        return generate.pipe(
          Effect.exit,
          Effect.flatMap((exit) =>
            Exit.isSuccess(exit)
              ? Effect.sync(() => state.complete(task, dispatch, input, exit, 0))
              : Effect.map(Random.next, (jitter) => state.complete(task, dispatch, input, exit, jitter))
          ),
          Effect.onExit(() =>
            state.isRunning(task, dispatch)
              ? Effect.sync(() => state.complete(task, dispatch, input, "interrupted", 0))
              : Effect.void
          )
        )
      }

      const spawned: Array<Spawn> = []
      const state: RunState<R> = new RunState(
        spec.columns,
        graph,
        generators,
        resources,
        resolved,
        now,
        listening,
        publish,
        (spawn) => {
          spawned.push(spawn)
        },
        signal
      )
      current = state

      const source = options.requestCapacity
      const requestResources = [...resources.requestDomains.values()].flat()
      // Reads the request layer's current capacity before each dispatcher step: the change stream only wakes the
      // dispatcher, so a step never runs on a stale limit (e.g. right after a 429 started a cooldown, before the
      // change event was delivered) and never turns a model task into a request waiter.
      const refreshCapacity = source === undefined || requestResources.length === 0
        ? Effect.void
        : Effect.forEach(requestResources, (resource) =>
          Effect.option(source.capacity(resource)).pipe(
            Effect.map((view) => {
              if (view._tag === "Some") state.onCapacity(view.value, false)
            })
          ), { discard: true })
      if (source !== undefined) {
        yield* Effect.forkScoped(
          Stream.runForEach(source.capacityChanges, (view) => Effect.sync(() => state.onCapacity(view))),
          { startImmediately: true }
        )
      }

      if (listening()) {
        publish({
          type: "scheduler_job_started",
          at: now(),
          rows: resolved.rows,
          rowGroups: Math.ceil(resolved.rows / resolved.bufferSize),
          columns: spec.columns.map((c) => c.name)
        })
      }

      const loop = Effect.gen(function*() {
        for (;;) {
          yield* refreshCapacity
          wake = Deferred.makeUnsafe<void>()
          const outcome = state.step()
          for (const spawn of spawned.splice(0)) fork(workerOf(spawn))
          for (const line of state.logs.splice(0)) yield* Effect.logWarning(line)
          if (state.toCheckpoint.length > 0) {
            for (const rg of state.toCheckpoint.splice(0)) {
              const checkpoint = state.checkpointOf(rg)
              if (checkpoint !== undefined) {
                // Uninterruptible: a cancelled run leaves the sink with whole row groups only.
                yield* Effect.uninterruptible(spec.sink.write(checkpoint)).pipe(
                  Effect.mapError((cause) => new CheckpointWriteError({ rowGroup: rg.id, cause }))
                )
              }
              state.markCheckpointed(rg)
            }
            continue
          }
          if (outcome.done) return
          if (outcome.deadlock) return yield* Effect.fail(deadlockError(state))
          // A full batch went out: let the event loop deliver what arrived (a 429, a lowered limit) first.
          if (outcome.more) {
            yield* Effect.yieldNow
            continue
          }
          const woken = Deferred.await(wake)
          if (outcome.nextDueAt === undefined) yield* woken
          else yield* Effect.raceFirst(woken, Effect.sleep(Math.max(1, outcome.nextDueAt - now())))
        }
      })

      // On every exit, workers are interrupted (releasing their leases) before the terminal event is published.
      yield* loop.pipe(
        Effect.onExit((exit) =>
          FiberSet.clear(fibers).pipe(Effect.andThen(Effect.sync(() => {
            if (!listening()) return
            publish({
              type: "scheduler_job_completed",
              at: now(),
              outcome: Exit.isSuccess(exit)
                ? state.shutdown ? "early_shutdown" : "success"
                : Exit.hasInterrupts(exit)
                ? "cancelled"
                : "error",
              rowsCompleted: state.rowsCompleted,
              rowsDropped: state.droppedRows.length
            })
          })))
        )
      )
      return resultOf(state, resources.keys, resources.capacityPlan)
    }))

    return {
      run,
      events,
      stats: Effect.sync(() => (current === undefined ? emptyStats : statsOf(current)))
    }
  })

/** Validates and runs in one call. */
export const runScheduler = <R>(
  spec: SchedulerSpec<R>,
  options: SchedulerOptions = {}
): Effect.Effect<SchedulerResult, SchedulerConfigError | SchedulerRunError, R> =>
  Effect.flatMap(makeScheduler(spec, options), (scheduler) => scheduler.run)

const deadlockError = <R>(state: RunState<R>): SchedulerDeadlockError => {
  const blockedResources = state.resourceKeys.flatMap((resource, i) => {
    const limit = state.ledger.limits[i]!
    const leased = state.ledger.leased[i]!
    return leased + 1 > limit ? [{ resource, limit, leased }] : []
  })
  return new SchedulerDeadlockError({
    message: `${state.queue.size} ready task(s) can never be admitted: nothing runs, nothing waits for a retry, ` +
      `and no resource is cooling down (blocked: ${blockedResources.map((r) => r.resource).join(", ") || "none"})`,
    queuedTasks: state.queue.size,
    blockedResources
  })
}

const resultOf = <R>(
  state: RunState<R>,
  keys: ReadonlyArray<string>,
  plan: CapacityPlan
): SchedulerResult => {
  const maxInFlightByResource: Record<string, number> = {}
  keys.forEach((key, i) => {
    maxInFlightByResource[key] = state.ledger.maxLeased[i]!
  })
  const runtimeRequestLimits = state.runtimeLimits.map((l) => ({
    resource: keys[l.index]!,
    staticLimit: l.staticLimit,
    currentLimit: l.current,
    minObservedLimit: l.minObserved,
    open: l.open
  }))
  const capacityPlan = runtimeRequestLimits.reduce(
    (p, l) =>
      recordRuntimeCapacity(p, {
        name: l.resource,
        value: l.currentLimit,
        detail: `request-layer limit at the end of the run (lowest ${l.minObservedLimit}, ${
          l.open ? "open" : "cooling down"
        })`
      }),
    plan
  )
  return {
    rowsRequested: state.options.rows,
    rowsResumed: state.rowsResumed,
    rowsCompleted: state.rowsCompleted,
    rowsDropped: state.droppedRows.length,
    droppedRows: state.droppedRows,
    dropCauses: { ...state.dropCauses },
    outcomes: { ...state.outcomes },
    checkpointedRowGroups: state.checkpointed,
    earlyShutdown: state.shutdown,
    maxRequestWaiters: state.maxRequestWaiters,
    maxInFlightByResource,
    capacityPlan,
    runtimeRequestLimits
  }
}
