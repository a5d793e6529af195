import { Presets, SingleBar } from "cli-progress"
import { Clock, Console, Effect, Schedule } from "effect"
import type { RequestPressure } from "@sluice/request-admission"
import type { ProviderHealthSnapshot } from "../pipeline/providerHealth.js"
import { formatLoads, type ProgressState, providerLoads, rowsDone } from "./ProgressState.js"
import { formatWaitReasons, waitReasons } from "./waitReasons.js"

export type ProgressMode = "bar" | "lines" | "off"

const formatDuration = (seconds: number): string => {
  if (!Number.isFinite(seconds)) return "--"
  const s = Math.max(0, Math.round(seconds))
  return s >= 60 ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s` : `${s}s`
}

export interface ProgressLine {
  /** Rows done: written, dropped, or as a fraction of their cells. */
  readonly done: number
  readonly total: number
  /** Of them, rows dropped: done, but not on disk. */
  readonly dropped: number
  readonly rate: number
  /** Seconds; infinite when unknown — nothing done yet, or nothing moving. */
  readonly eta: number
  readonly loads: string
  /** Why work is held back ("nothing moves: provider x cooling down until 12:00:05 (Retry-After 5 s)"), or "". */
  readonly waiting: string
  /** Prompt and completion tokens per second over the run, when token usage is counted. */
  readonly tokenRate?: number | undefined
}

/** How long without any progress before a line says that nothing moves, and why. */
export const stallAfterSeconds = 2

export interface ProgressContext {
  readonly pressures: ReadonlyArray<RequestPressure>
  readonly health?: ReadonlyArray<ProviderHealthSnapshot>
  readonly nowMillis?: number
  /** Nothing has moved for a while (see `stallAfterSeconds`). */
  readonly stalled?: boolean
  /** Tokens used so far (prompt and completion, every model). */
  readonly tokens?: number | undefined
}

export const progressLine = (
  state: ProgressState,
  elapsedSeconds: number,
  pressures: ReadonlyArray<RequestPressure>,
  context: Omit<ProgressContext, "pressures"> = {}
): ProgressLine => {
  const done = rowsDone(state)
  // Resumed rows were written by an earlier run: they count as done but not towards this run's speed.
  const rate = elapsedSeconds > 0 ? (done - state.rowsResumed) / elapsedSeconds : 0
  const stalled = context.stalled === true && done < state.rowsTotal
  return {
    done,
    total: state.rowsTotal,
    dropped: state.rowsDropped,
    rate,
    // While nothing moves, the average rate says nothing about when the run ends.
    eta: rate > 0 && !stalled ? (state.rowsTotal - done) / rate : Number.POSITIVE_INFINITY,
    loads: formatLoads(providerLoads(pressures)),
    waiting: formatWaitReasons(
      waitReasons(pressures, context.health ?? [], context.nowMillis ?? 0, stalled),
      stalled
    ),
    tokenRate: context.tokens === undefined ? undefined : elapsedSeconds > 0 ? context.tokens / elapsedSeconds : 0
  }
}

const formatDropped = (line: ProgressLine): string => line.dropped > 0 ? ` (${line.dropped} dropped)` : ""

const formatTokenRate = (line: ProgressLine): string =>
  line.tokenRate === undefined ? "" : ` · ${line.tokenRate.toFixed(0)} tok/s`

export const formatPlainLine = (line: ProgressLine, elapsedSeconds: number): string =>
  `[${formatDuration(elapsedSeconds)}] rows ${Math.floor(line.done)}/${line.total}${formatDropped(line)} · ${
    line.rate.toFixed(1)
  } rows/s${formatTokenRate(line)} · ` +
  `ETA ${formatDuration(line.eta)}${line.loads === "" ? "" : ` · in flight/limit: ${line.loads}`}` +
  `${line.waiting === "" ? "" : ` · ${line.waiting}`}`

/**
 * Tells whether nothing has moved (rows, cells, drops) for `stallAfterSeconds`, from the states it is shown: a change
 * counts from the first sample that sees it, so samples should come often (about once a second or more).
 */
export const stallWatch = (initial: ProgressState, startedMillis: number) => {
  let last = initial
  let lastChangeMillis = startedMillis
  return (state: ProgressState, nowMillis: number): boolean => {
    if (
      state.cellsDone !== last.cellsDone || state.rowsCheckpointed !== last.rowsCheckpointed ||
      state.rowsDropped !== last.rowsDropped
    ) {
      last = state
      lastChangeMillis = nowMillis
    }
    return nowMillis - lastChangeMillis >= stallAfterSeconds * 1000
  }
}

/** Plain lines come this often; one more comes as soon as the run stalls, to say why. */
export const progressLineEverySeconds = 5

/**
 * Shows progress on stderr until the scope closes: a live bar on a TTY (rows, rows/s, ETA, in-flight vs adaptive
 * limit per provider), plain lines every few seconds otherwise, nothing when off. Both say which providers are
 * down, and when nothing moves, why: a provider cooling down until when (and whether on its Retry-After), requests
 * still in flight, or retries not yet due. A plain line also comes as soon as the run stalls.
 */
export const reportProgress = Effect.fnUntraced(function*(
  mode: ProgressMode,
  progress: Effect.Effect<ProgressState>,
  pressures: Effect.Effect<ReadonlyArray<RequestPressure>>,
  health: Effect.Effect<ReadonlyArray<ProviderHealthSnapshot>> = Effect.succeed([]),
  tokens?: Effect.Effect<number>
) {
  if (mode === "off") return
  const started = yield* Clock.currentTimeMillis
  const initial = yield* progress
  const stalledAt = stallWatch(initial, started)
  const sample = Effect.gen(function*() {
    const now = yield* Clock.currentTimeMillis
    const elapsed = (now - started) / 1000
    const state = yield* progress
    const stalled = stalledAt(state, now)
    const line = progressLine(state, elapsed, yield* pressures, {
      health: yield* health,
      nowMillis: now,
      stalled,
      tokens: tokens === undefined ? undefined : yield* tokens
    })
    return { elapsed, stalled, line }
  })
  if (mode === "lines") {
    let lastPrinted = 0
    let wasStalled = false
    const tick = sample.pipe(Effect.flatMap(({ elapsed, line, stalled }) => {
      const due = elapsed - lastPrinted >= progressLineEverySeconds || (stalled && !wasStalled)
      wasStalled = stalled
      if (!due) return Effect.void
      lastPrinted = elapsed
      return Console.error(formatPlainLine(line, elapsed))
    }))
    yield* Effect.addFinalizer(() =>
      sample.pipe(Effect.flatMap(({ elapsed, line }) => Console.error(formatPlainLine(line, elapsed))))
    )
    // Sampled every second, so a stall is seen within about a second of `stallAfterSeconds`.
    yield* tick.pipe(Effect.repeat(Schedule.spaced("1 second")), Effect.delay("1 second"), Effect.forkScoped)
    return
  }
  const bar = new SingleBar({
    format:
      " {bar} {value}/{total} rows{dropped} | {rate} rows/s{tokenRate} | ETA {etaText} | in flight/limit {loads}{waiting}",
    stream: process.stderr,
    hideCursor: true,
    clearOnComplete: false
  }, Presets.shades_classic)
  bar.start(initial.rowsTotal, 0, { dropped: "", rate: "0.0", tokenRate: "", etaText: "--", loads: "", waiting: "" })
  const update = sample.pipe(
    Effect.map(({ line }) =>
      bar.update(Math.floor(line.done), {
        dropped: formatDropped(line),
        rate: line.rate.toFixed(1),
        tokenRate: line.tokenRate === undefined ? "" : ` | ${line.tokenRate.toFixed(0)} tok/s`,
        etaText: formatDuration(line.eta),
        loads: line.loads,
        waiting: line.waiting === "" ? "" : ` | ${line.waiting}`
      })
    )
  )
  yield* Effect.addFinalizer(() => update.pipe(Effect.andThen(Effect.sync(() => bar.stop()))))
  yield* update.pipe(Effect.repeat(Schedule.spaced("200 millis")), Effect.forkScoped)
})
