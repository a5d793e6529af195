import { Presets, SingleBar } from "cli-progress"
import { Clock, Console, Effect, Schedule } from "effect"
import type { RequestPressure } from "@sluice/request-admission"
import { formatLoads, type ProgressState, providerLoads, rowsDone } from "./ProgressState.js"

export type ProgressMode = "bar" | "lines" | "off"

const formatDuration = (seconds: number): string => {
  if (!Number.isFinite(seconds)) return "--"
  const s = Math.max(0, Math.round(seconds))
  return s >= 60 ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s` : `${s}s`
}

export interface ProgressLine {
  readonly done: number
  readonly total: number
  readonly rate: number
  readonly eta: number
  readonly loads: string
}

export const progressLine = (
  state: ProgressState,
  elapsedSeconds: number,
  pressures: ReadonlyArray<RequestPressure>
): ProgressLine => {
  const done = rowsDone(state)
  // Resumed rows were written by an earlier run: they count as done but not towards this run's speed.
  const rate = elapsedSeconds > 0 ? (done - state.rowsResumed) / elapsedSeconds : 0
  return {
    done,
    total: state.rowsTotal,
    rate,
    eta: rate > 0 ? (state.rowsTotal - done) / rate : Number.POSITIVE_INFINITY,
    loads: formatLoads(providerLoads(pressures))
  }
}

export const formatPlainLine = (line: ProgressLine, elapsedSeconds: number): string =>
  `[${formatDuration(elapsedSeconds)}] rows ${Math.floor(line.done)}/${line.total} · ${
    line.rate.toFixed(1)
  } rows/s · ` +
  `ETA ${formatDuration(line.eta)}${line.loads === "" ? "" : ` · in flight/limit: ${line.loads}`}`

/**
 * Shows progress on stderr until the scope closes: a live bar on a TTY (rows, rows/s, ETA, in-flight vs adaptive
 * limit per provider), plain lines every few seconds otherwise, nothing when off.
 */
export const reportProgress = Effect.fnUntraced(function*(
  mode: ProgressMode,
  progress: Effect.Effect<ProgressState>,
  pressures: Effect.Effect<ReadonlyArray<RequestPressure>>
) {
  if (mode === "off") return
  const started = yield* Clock.currentTimeMillis
  const rowsTotal = (yield* progress).rowsTotal
  const sample = Effect.gen(function*() {
    const elapsed = ((yield* Clock.currentTimeMillis) - started) / 1000
    return { elapsed, line: progressLine(yield* progress, elapsed, yield* pressures) }
  })
  if (mode === "lines") {
    const print = sample.pipe(Effect.flatMap(({ elapsed, line }) => Console.error(formatPlainLine(line, elapsed))))
    yield* Effect.addFinalizer(() => print)
    yield* print.pipe(Effect.delay("5 seconds"), Effect.repeat(Schedule.spaced("5 seconds")), Effect.forkScoped)
    return
  }
  const bar = new SingleBar({
    format: " {bar} {value}/{total} rows | {rate} rows/s | ETA {etaText} | in flight/limit {loads}",
    stream: process.stderr,
    hideCursor: true,
    clearOnComplete: false
  }, Presets.shades_classic)
  bar.start(rowsTotal, 0, { rate: "0.0", etaText: "--", loads: "" })
  const update = sample.pipe(
    Effect.map(({ line }) =>
      bar.update(Math.floor(line.done), {
        rate: line.rate.toFixed(1),
        etaText: formatDuration(line.eta),
        loads: line.loads
      })
    )
  )
  yield* Effect.addFinalizer(() => update.pipe(Effect.andThen(Effect.sync(() => bar.stop()))))
  yield* update.pipe(Effect.repeat(Schedule.spaced("200 millis")), Effect.forkScoped)
})
