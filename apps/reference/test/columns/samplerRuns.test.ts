import { assert, describe, it } from "@effect/vitest"
import {
  type CellColumn,
  type Checkpoint,
  type Column,
  makeScheduler,
  SchedulerGeneratorError,
  type RowValues,
  type SchedulerEvent,
  type SchedulerOptions
} from "@sluice/scheduler"
import { Effect, Fiber, Stream } from "effect"
import { buildColumns } from "../../src/columns/buildColumns.js"
import { ModelGateway } from "../../src/columns/ModelGateway.js"
import { cellRandom, sampleCategory, sampleUniform, sampleUuid } from "../../src/columns/samplers.js"
import type { LoadedConfig } from "../../src/config/loadConfig.js"
import { uniformRange } from "../../src/config/samplerSchema.js"
import { resolveConfig } from "../fixtures/resolveConfig.js"
import { makeProgressState, progressFromStats, rowsDone } from "../../src/progress/ProgressState.js"

// Whole scheduler runs over several row groups (10 rows in groups of 4, 4, 2): the full-column samplers must write
// exactly what the former one-task-per-row samplers wrote, fresh, resumed, and with rows dropped.

const seed = 11
const rows = 10
const bufferSize = 4

const config = {
  providers: [{ name: "local", type: "mock" }],
  models: [],
  columns: [
    { name: "id", type: "uuid" },
    { name: "kind", type: "category", values: ["a", "b", "c"], weights: [1, 2, 3] },
    { name: "flavour", type: "category", values: ["x", "y", "z"] },
    { name: "score", type: "uniform", min: 0, max: 10, integer: true },
    { name: "ratio", type: "uniform", min: -1, max: 1 }
  ],
  run: { rows, bufferSize, seed }
}

/** The samplers as they were before they became full columns: one cell task per row, keyed by its dataset row. */
const cellSamplers = (loaded: LoadedConfig): ReadonlyArray<CellColumn<never>> =>
  loaded.columns.map((column) => {
    const c = column.config
    const draw = (row: number): unknown => {
      const random = cellRandom(seed, c.name, row)
      switch (c.type) {
        case "category":
          return sampleCategory(c.values, c.weights, random)
        case "uniform":
          return sampleUniform(uniformRange(c).min, uniformRange(c).max, c.integer, random)
        case "uuid":
          return sampleUuid(random)
        default:
          throw new Error(`not a sampler: ${c.name}`)
      }
    }
    return { name: c.name, strategy: "cell", generate: (input) => Effect.succeed({ [c.name]: draw(input.row) }) }
  })

/** Dataset row → values, over every checkpoint written. */
const byRow = (written: ReadonlyArray<Checkpoint>): ReadonlyMap<number, RowValues> =>
  new Map(written.flatMap((c) => c.rowIndexes.map((index, i) => [c.firstRow + index, c.rows[i]!] as const)))

const run = (columns: ReadonlyArray<Column<ModelGateway>>, options: SchedulerOptions = {}) =>
  Effect.gen(function*() {
    const written: Array<Checkpoint> = []
    const scheduler = yield* makeScheduler({
      columns,
      rows,
      bufferSize,
      sink: { write: (checkpoint) => Effect.sync(() => void written.push(checkpoint)) }
    }, { earlyShutdown: false, ...options })
    const events: Array<SchedulerEvent> = []
    const listener = yield* scheduler.events.pipe(
      Stream.runForEach((event) => Effect.sync(() => void events.push(event))),
      Effect.forkScoped({ startImmediately: true })
    )
    const result = yield* scheduler.run
    yield* Fiber.join(listener)
    // As runPipeline does: progress is the scheduler's counters, read from its stats.
    const progress = progressFromStats(makeProgressState(rows, rows * columns.length), yield* scheduler.stats)
    return { written, result, progress, events }
  }).pipe(Effect.provideService(ModelGateway, { complete: () => Effect.die("samplers never call a model") }))

const setup = Effect.gen(function*() {
  const loaded = yield* resolveConfig("<test>", config)
  return { loaded, full: buildColumns(loaded.columns, { seed, scheduling: new Map() }) }
})

describe("sampler columns over whole runs", () => {
  it.effect("full-column samplers write the same values as one cell task per row, in every row group", () =>
    Effect.gen(function*() {
      const { full, loaded } = yield* setup
      assert.deepStrictEqual(full.map((c) => c.strategy), ["full", "full", "full", "full", "full"])
      const cells = yield* run(cellSamplers(loaded))
      const fulls = yield* run(full)
      assert.deepStrictEqual(fulls.written.map((c) => c.rowGroup).sort(), [0, 1, 2])
      assert.strictEqual(byRow(fulls.written).size, rows)
      assert.deepStrictEqual(byRow(fulls.written), byRow(cells.written))
      // One task per row group and column instead of one per row; progress still counts every cell.
      const completed = fulls.events.filter((e) => e._tag === "task_completed")
      assert.strictEqual(completed.length, 3 * full.length)
      assert.strictEqual(fulls.progress.cellsDone, fulls.progress.cellsTotal)
      assert.strictEqual(rowsDone(fulls.progress), rows)
      assert.strictEqual(cells.progress.cellsDone, cells.progress.cellsTotal)
    }))

  it.effect("a resumed run regenerates the missing row groups with the values of a fresh (cell) run", () =>
    Effect.gen(function*() {
      const { full, loaded } = yield* setup
      const fresh = byRow((yield* run(cellSamplers(loaded))).written)
      for (const completedRowGroups of [[0, 2], [1], [0, 1]]) {
        const resumed = yield* run(full, { resume: { completedRowGroups } })
        const missing = [0, 1, 2].filter((g) => !completedRowGroups.includes(g))
        assert.deepStrictEqual(resumed.written.map((c) => c.rowGroup).sort(), missing)
        assert.strictEqual(resumed.result.rowsResumed, completedRowGroups.reduce((n, g) => n + (g === 2 ? 2 : 4), 0))
        for (const [row, values] of byRow(resumed.written)) assert.deepStrictEqual(values, fresh.get(row), `row ${row}`)
      }
    }))

  it.effect("a sampler that requires a column samples only the surviving rows, each from its own dataset row", () =>
    Effect.gen(function*() {
      const { full, loaded } = yield* setup
      const droppedRows = [1, 5, 8]
      // A root cell column that drops rows 1, 5 and 8 (dataset indexes); the samplers wait for it, so each of
      // their tasks is a batch over the row group's survivors.
      const gate: CellColumn<never> = {
        name: "gate",
        strategy: "cell",
        generate: ({ row }) =>
          droppedRows.includes(row)
            ? Effect.fail(new SchedulerGeneratorError({ message: "dropped" }))
            : Effect.succeed({ gate: row })
      }
      const after = <C extends Column<ModelGateway>>(column: C): C => ({ ...column, requires: ["gate"] })
      const fulls = yield* run([gate, ...full.map(after)])
      const cells = yield* run([gate, ...cellSamplers(loaded).map(after)])
      const survivors = byRow(fulls.written)
      assert.deepStrictEqual([...survivors.keys()].sort((a, b) => a - b), [0, 2, 3, 4, 6, 7, 9])
      assert.deepStrictEqual(survivors, byRow(cells.written))
      assert.deepStrictEqual(fulls.result.droppedRows.map((d) => d.row).sort((a, b) => a - b), droppedRows)
      // Full tasks count only the rows they wrote; dropped rows' cells never complete, checkpoints still end at 100 %.
      const samplerRows = fulls.events.flatMap((
        e
      ) => (e._tag === "task_completed" && e.column !== "gate" ? [e.rows] : []))
      assert.strictEqual(samplerRows.reduce((a, b) => a + b, 0), survivors.size * full.length)
      assert.strictEqual(fulls.progress.cellsDone, survivors.size * (full.length + 1))
      assert.strictEqual(rowsDone(fulls.progress), rows)
    }))
})
