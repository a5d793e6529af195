import type { Effect, FileSystem, Path } from "effect"
import type { BenchResult, PeersReport, TimelineMarks, TimelinePoint } from "./BenchResult.js"
import type { BenchError, MockPlacement } from "./mockHost.js"
import type { ScaleoutReport } from "./scenarios/scaleout.js"

export interface ScenarioContext {
  /** `--full`: the documented full size instead of the CI-sized default. */
  readonly full: boolean
  /** Where HTTP scenarios run their mock providers (the fairer setup, see BENCHMARKS.md). */
  readonly placement: MockPlacement
  /** Shrinks every scenario to a few seconds (tests). */
  readonly tiny?: boolean
  /**
   * Measured rounds of the scenarios that compare close numbers (`pressure-725`, `peers`), each after an untimed
   * warm-up; they report the median round. Default 1.
   */
  readonly rounds?: number
}

export interface ScenarioOutput {
  readonly result: BenchResult | PeersReport | ScaleoutReport
  readonly table: string
  readonly timeline: ReadonlyArray<TimelinePoint>
  /** What the timeline plot draws beside the series (`peers` draws its bar chart from `result` instead). */
  readonly marks?: TimelineMarks
}

export interface Scenario {
  readonly name: string
  readonly describe: string
  /** `false`: run only by name, not by `all` (it needs more than the harness, e.g. a `redis-server`). */
  readonly inAll?: false
  readonly run: (ctx: ScenarioContext) => Effect.Effect<ScenarioOutput, BenchError, FileSystem.FileSystem | Path.Path>
}
