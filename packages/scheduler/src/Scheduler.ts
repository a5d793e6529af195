import { type CapacityPlan, recordRuntimeCapacity, type ResolvedScheduling } from "@sluice/resolver"
import { Clock, Deferred, Effect, Exit, FiberSet, PubSub, Random, References, Stream } from "effect"
import { resolveColumnScheduling } from "./columnScheduling.js"
import {
  SchedulerCheckpointWriteError,
  type SchedulerConfigError,
  SchedulerDeadlockError,
  SchedulerProcessorError,
  type SchedulerRunError
} from "./errors.js"
import { Completion } from "./internal/completion.js"
import { Dispatcher, type Spawn } from "./internal/dispatcher.js"
import { FailurePolicy } from "./internal/failurePolicy.js"
import { buildGraph } from "./internal/graph.js"
import { Lifecycle } from "./internal/lifecycle.js"
import { LiveCapacity } from "./internal/liveCapacity.js"
import { resourceTableOf } from "./internal/resourceTable.js"
import { runOptionsOf } from "./internal/runOptions.js"
import { RunState } from "./internal/runState.js"
import type { SchedulerEvent } from "./SchedulerEvent.js"
import type { SchedulerOptions } from "./SchedulerOptions.js"
import { emptyStats, gatesOf, statsOf } from "./internal/stats.js"
import type { SchedulerStats } from "./SchedulerStats.js"
import type { RowGroup } from "./internal/rowGroups.js"
import type {
  BatchInput,
  CellInput,
  GenerationFailure,
  ProcessorStage,
  RowProcessor,
  SchedulerResult,
  SchedulerSpec
} from "./Spec.js"

/**
 * @since 0.1.0
 */
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

/**
 * Validates a spec and returns a scheduler for it. Invalid input fails with a `SchedulerConfigError` naming the
 * field (`rows`, `bufferSize`, `retry.maxAttempts`, `columns[1].requires[0]`, the columns of a cycle, …).
 *
 * The scheduling is the spec's `scheduling` (the resolver's answer, resolved once by the caller) or, without it,
 * the columns' own metadata resolved by `resolveColumnScheduling`.
 *
 * @since 0.1.0
 */
export const makeScheduler = Effect.fnUntraced(function*<R>(
  spec: SchedulerSpec<R>,
  input: SchedulerOptions = {}
): Effect.fn.Return<Scheduler<R>, SchedulerConfigError> {
  const options = yield* runOptionsOf(spec, input)
  const graph = yield* buildGraph(spec.columns)
  const scheduling: ResolvedScheduling = spec.scheduling ??
    (yield* resolveColumnScheduling(spec.columns, {
      maxInFlightTasks: options.maxInFlightTasks,
      maxModelTaskAdmission: options.maxModelTaskAdmission
    }))
  const table = yield* resourceTableOf(spec.columns, scheduling, options)
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
  ).pipe(Stream.takeUntil((event) => event._tag === "scheduler_job_completed"))

  const eventSink = {
    listening: (): boolean => subscribers > 0,
    publish: (event: SchedulerEvent): void => {
      PubSub.publishUnsafe(pubsub, event)
    }
  }

  const run: Effect.Effect<SchedulerResult, SchedulerRunError, R> = Effect.scoped(Effect.gen(function*() {
    const clock = yield* Clock.Clock
    const now = () => clock.currentTimeMillisUnsafe()
    const fibers = yield* FiberSet.make<void, never>()
    const fork = yield* FiberSet.runtime(fibers)<R>()
    let wake = Deferred.makeUnsafe<void>()
    /** Wake-ups since the dispatcher's last step. */
    let wakes = 0
    const state: RunState<R> = new RunState({
      columns: spec.columns,
      processors: spec.processors ?? [],
      graph,
      table,
      options,
      now,
      events: eventSink,
      wake: () => {
        wakes++
        Deferred.doneUnsafe(wake, Effect.void)
      }
    })
    current = state
    const capacity = new LiveCapacity(state)
    const lifecycle = new Lifecycle(state)
    const completion = new Completion(state, new FailurePolicy(state, capacity, lifecycle))
    const dispatcher = new Dispatcher(state, capacity)

    // One worker per dispatched task, forked right after the dispatcher's step; it starts at once (no extra
    // event-loop turn before generating). Only the generator runs interruptibly: its exit — success, typed failure,
    // defect or interruption — is always completed, and the completion releases the lease once. The retry jitter is
    // only drawn for a failure.
    const workerOf = ({ dispatch, input, task }: Spawn): Effect.Effect<void, never, R> => {
      const column = spec.columns[task.generator]!
      const generate: Effect.Effect<unknown, GenerationFailure, R> = Effect.suspend(
        (): Effect.Effect<unknown, GenerationFailure, R> =>
          column.strategy === "cell" ? column.generate(input as CellInput) : column.generate(input as BatchInput)
      )
      return Effect.uninterruptibleMask((restore) =>
        restore(generate).pipe(
          Effect.exit,
          Effect.flatMap((exit) =>
            Exit.isSuccess(exit)
              ? completion.complete(task, dispatch, input, exit, 0)
              : Effect.flatMap(Random.next, (jitter) => completion.complete(task, dispatch, input, exit, jitter))
          )
        )
      )
    }

    const source = options.requestCapacity
    // Reads the request layer's current capacity before each dispatcher step: the change stream only wakes the
    // dispatcher, so a step never runs on a stale limit (e.g. right after a 429 started a cooldown, before the
    // change event was delivered) and never turns a model task into a request waiter.
    const refreshCapacity = source === undefined || capacity.resources.length === 0
      ? Effect.void
      : Effect.forEach(capacity.resources, (resource) =>
        Effect.option(source.capacity(resource)).pipe(
          Effect.flatMap((view) => view._tag === "Some" ? capacity.apply(view.value, false) : Effect.void)
        ), { discard: true })
    if (source !== undefined) {
      yield* Effect.forkScoped(
        Stream.runForEach(source.capacityChanges, (view) => capacity.applyAtomically(view)),
        { startImmediately: true }
      )
    }

    state.emit(() => ({
      _tag: "scheduler_job_started",
      at: now(),
      rows: options.rows,
      rowGroups: state.rowGroupCount,
      columns: spec.columns.map((c) => c.name)
    }))

    // The processors of one stage, in order, each on the survivors of the previous one; their drops purge the
    // rows' pending tasks. They are the caller's code: they run with the scheduler's usual yields.
    const runProcessors = (rg: RowGroup, stage: ProcessorStage, processors: ReadonlyArray<RowProcessor<R>>) =>
      Effect.forEach(processors, (processor) =>
        Effect.suspend(() => {
          const input = lifecycle.checkpointOf(rg)
          if (input === undefined) return Effect.void
          const failed = (detail: string, cause?: unknown) =>
            new SchedulerProcessorError({
              processor: processor.name,
              stage,
              rowGroup: rg.id,
              detail,
              ...(cause === undefined ? {} : { cause })
            })
          return processor.process(input).pipe(
            Effect.provideService(References.PreventSchedulerYield, false),
            Effect.mapError((cause) => failed(messageOf(cause), cause)),
            Effect.flatMap((drop) => {
              const surviving = new Set(input.rowIndexes)
              for (const r of drop) {
                if (!surviving.has(r)) {
                  return Effect.fail(failed(`returned row index ${String(r)}, not one of its surviving rows`))
                }
              }
              const message = `Dropped by the ${stage} processor "${processor.name}"`
              for (const r of drop) {
                state.dropRow(rg, r, { kind: "processor_dropped", processor: processor.name, message })
              }
              state.emit(() => ({
                _tag: "processor_completed",
                at: now(),
                processor: processor.name,
                stage,
                rowGroup: rg.id,
                rows: input.rows.length,
                droppedRows: surviving.size - (rg.size - rg.droppedCount)
              }))
              return Effect.void
            })
          )
        }), { discard: true })

    let stopApplied = false
    const loop = Effect.gen(function*() {
      for (;;) {
        yield* refreshCapacity
        wake = Deferred.makeUnsafe<void>()
        dispatcher.batch = options.dispatchBatch * Math.max(1, wakes)
        wakes = 0
        const outcome = yield* dispatcher.step
        const spawned = dispatcher.spawned
        for (let i = 0; i < spawned.length; i++) fork(workerOf(spawned[i]!))
        spawned.length = 0
        if (dispatcher.admitted.length > 0) {
          for (const rg of dispatcher.admitted.splice(0)) {
            state.spans.set(
              rg.id,
              yield* Effect.makeSpan("sluice.scheduler.row_group", {
                attributes: { "sluice.row_group": rg.id, "sluice.first_row": rg.firstRow, "sluice.rows": rg.size }
              })
            )
          }
        }
        if (state.logs.length > 0) { for (const line of state.logs.splice(0)) yield* Effect.logWarning(line) }
        if (state.stopRequested && !stopApplied) {
          // A stop on a failure kind: running tasks are interrupted now; their rows were dropped already.
          stopApplied = true
          state.interrupting = true
          yield* FiberSet.clear(fibers)
          continue
        }
        if (state.toPreBatch.length > 0) {
          for (const rg of state.toPreBatch.splice(0)) {
            if (!rg.checkpointing) yield* runProcessors(rg, "pre-batch", state.preBatch)
            state.releaseParked(rg)
            state.afterChange(rg)
          }
          continue
        }
        if (state.toCheckpoint.length > 0) {
          for (const rg of state.toCheckpoint.splice(0)) {
            if (state.postBatch.length > 0) yield* runProcessors(rg, "post-batch", state.postBatch)
            const checkpoint = lifecycle.checkpointOf(rg)
            if (checkpoint !== undefined) {
              // Uninterruptible: a cancelled run leaves the sink with whole row groups only. The sink is the caller's
              // code: it runs with the scheduler's usual yields.
              yield* Effect.uninterruptible(spec.sink.write(checkpoint)).pipe(
                Effect.provideService(References.PreventSchedulerYield, false),
                Effect.mapError((cause) => new SchedulerCheckpointWriteError({ rowGroup: rg.id, cause }))
              )
            }
            lifecycle.markCheckpointed(rg)
            const span = state.spans.get(rg.id)
            if (span !== undefined) {
              state.spans.delete(rg.id)
              span.attribute("sluice.surviving_rows", rg.size - rg.droppedCount)
              span.end(yield* Clock.currentTimeNanos, Exit.void)
            }
          }
          continue
        }
        if (outcome.done) return
        if (outcome.deadlock) return yield* Effect.fail(yield* deadlockError(state))
        // A full batch went out: let the event loop deliver what arrived (a 429, a lowered limit) first.
        if (outcome.more) {
          yield* Effect.yieldNow
          continue
        }
        const woken = Deferred.await(wake)
        if (outcome.nextDueAt === undefined) yield* woken
        else yield* Effect.raceFirst(woken, Effect.sleep(Math.max(1, outcome.nextDueAt - now())))
        // A wake resumes this loop inside the fiber that woke it (a worker completing). Yield once, so that every
        // completion of the same event-loop turn is taken by one step instead of one step each.
        yield* Effect.yieldNow
      }
    })

    // The loop never yields to the scheduler on its own, only where it says so (between batches, waiting for a
    // wake): a dispatcher step is then one uninterrupted run of select → acquire → commit, which workers finishing
    // meanwhile cannot interleave with. On every exit, workers are interrupted (releasing their leases) before the
    // terminal event is published.
    yield* loop.pipe(
      Effect.provideService(References.PreventSchedulerYield, true),
      Effect.onExit((exit) =>
        Effect.suspend(() => {
          state.interrupting = true
          return FiberSet.clear(fibers)
        }).pipe(
          Effect.andThen(Clock.currentTimeNanos),
          Effect.flatMap((nanos) =>
            Effect.sync(() => {
              for (const span of state.spans.values()) span.end(nanos, exit)
              state.spans.clear()
              state.emit(() => ({
                _tag: "scheduler_job_completed",
                at: now(),
                outcome: Exit.isSuccess(exit)
                  ? state.stop !== undefined ? "early_shutdown" : "success"
                  : Exit.hasInterrupts(exit)
                  ? "cancelled"
                  : "error",
                rowsCompleted: state.rowsCompleted,
                rowsDropped: state.droppedRows.length,
                ...(state.stop === undefined ? {} : { stop: state.stop })
              }))
            })
          )
        )
      )
    )
    return resultOf(state, capacity, table.capacityPlan)
  }))

  return {
    run,
    events,
    stats: Effect.suspend(() => (current === undefined ? Effect.succeed(emptyStats) : statsOf(current)))
  }
})

/**
 * Validates and runs in one call.
 *
 * @since 0.1.0
 */
export const runScheduler = <R>(
  spec: SchedulerSpec<R>,
  options: SchedulerOptions = {}
): Effect.Effect<SchedulerResult, SchedulerConfigError | SchedulerRunError, R> =>
  Effect.flatMap(makeScheduler(spec, options), (scheduler) => scheduler.run)

const messageOf = (cause: unknown): string =>
  cause instanceof Error ? cause.message : typeof cause === "string" ? cause : String(cause)

const deadlockError = Effect.fnUntraced(function*<R>(state: RunState<R>) {
  const blockedResources: Array<{ resource: string; limit: number; leased: number }> = []
  for (const gate of state.ledger.gates) {
    const leased = yield* gate.leased
    if (leased + 1 > gate.limit) blockedResources.push({ resource: gate.key, limit: gate.limit, leased })
  }
  return new SchedulerDeadlockError({
    message: `${state.queue.size} ready task(s) can never be admitted: nothing runs, nothing waits for a retry, ` +
      `and no resource is cooling down (blocked: ${blockedResources.map((r) => r.resource).join(", ") || "none"})`,
    queuedTasks: state.queue.size,
    blockedResources
  })
})

const resultOf = <R>(state: RunState<R>, capacity: LiveCapacity<R>, plan: CapacityPlan): SchedulerResult => {
  const maxInFlightByResource: Record<string, number> = {}
  for (const gate of gatesOf(state)) maxInFlightByResource[gate.key] = gate.maxLeased
  const runtimeRequestLimits = capacity.runtimeLimits()
  let capacityPlan = runtimeRequestLimits.reduce(
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
  for (const domain of capacity.domainLimits()) {
    capacityPlan = recordRuntimeCapacity(capacityPlan, {
      name: domain.resource,
      value: domain.limit,
      detail: `request-layer limit of this domain at the end of the run (lowest ${domain.minObserved}, ${
        domain.open ? "open" : "cooling down"
      })`
    })
  }
  return {
    rowsRequested: state.options.rows,
    rowsResumed: state.rowsResumed,
    rowsCompleted: state.rowsCompleted,
    rowsDropped: state.droppedRows.length,
    droppedRows: state.droppedRows,
    dropCauses: { ...state.dropCauses },
    outcomes: { ...state.outcomes },
    checkpointedRowGroups: state.checkpointed,
    cellsSkipped: state.cellsSkipped,
    earlyShutdown: state.stop !== undefined,
    ...(state.stop === undefined ? {} : { stop: state.stop }),
    maxRequestWaiters: capacity.maxRequestWaiters,
    maxInFlightByResource,
    capacityPlan,
    runtimeRequestLimits
  }
}
