import { heavyRoot as heavyRootScenario } from "../virtual/heavyRoot.js"
import { Effect } from "effect"
import { benchResult, type TimelinePoint } from "../BenchResult.js"
import { resultTable } from "../markdown.js"
import { BenchError } from "../mockHost.js"
import type { Scenario, ScenarioContext } from "../Scenario.js"

/**
 * `heavy-root`, on virtual time (`../virtual/heavyRoot.ts`):
 * capacity 8; 512 × 0.5 s root tasks (weight 4) at t = 0; 256 × 0.05 s peer tasks (weight 1) from t = 0.05.
 * Ideal (512 × 0.5 + 256 × 0.05) ÷ 8 = 33.6 s. The anchor: 34.00 s, peer p95 12.40 s.
 */
export const heavyRoot: Scenario = {
  name: "heavy-root",
  describe: "virtual time: 512 × 0.5 s heavy root tasks vs 256 × 0.05 s late peers on 8 slots",
  run: (ctx: ScenarioContext) =>
    Effect.gen(function*() {
      const report = yield* heavyRootScenario(ctx.tiny ? { hotTasks: 32, peerTasks: 16 } : {}).pipe(
        Effect.mapError((cause) => new BenchError({ message: `heavy-root: ${cause.message}`, cause }))
      )
      const rows = Math.max(ctx.tiny ? 32 : 512, ctx.tiny ? 16 : 256)
      const result = benchResult({
        scenario: "heavy-root",
        rowsRequested: rows,
        rowsCompleted: report.rowsCompleted,
        rowsDropped: rows - report.rowsCompleted,
        admissionTimeouts: 0,
        maxRequestWaiters: 0,
        elapsedSeconds: report.wallSeconds,
        idealSeconds: report.idealSeconds,
        // Measured by the scenario once the run has returned; it has no request admission (request counts are 0).
        leaks: report.leaks,
        extra: {
          peerP95Seconds: report.peerWaitSeconds.p95,
          peerP50Seconds: report.peerWaitSeconds.p50,
          peerMaxWaitSeconds: report.peerWaitSeconds.max,
          peerFirstWaitSeconds: report.peerWaitSeconds.first,
          maxModelTasksInFlight: report.maxModelTasksInFlight,
          virtualTime: true,
          anchorWallSeconds: 34.0,
          anchorPeerP95Seconds: 12.4
        }
      })
      // Virtual seconds: each group's model tasks in flight against the 8 shared slots; a row is done with its
      // heavy task (the peers finish long before).
      const capacity = 8
      const timeline: ReadonlyArray<TimelinePoint> = report.inFlight.map((p) => ({
        atSeconds: p.atSeconds,
        rowsDone: p.hotDone,
        providers: {
          "heavy (weight 4)": { inFlight: p.hot, limit: capacity },
          "peer (weight 1)": { inFlight: p.peer, limit: capacity }
        }
      }))
      const marks = { virtualTime: true, capacity: { label: "8 model-task slots", requests: capacity } }
      return { result, table: resultTable([result]), timeline, marks }
    })
}
