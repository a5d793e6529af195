import {
  ModelAuthenticationError,
  ModelBadRequestError,
  ModelInternalServerError,
  ModelNotFoundError,
  ModelRateLimitError
} from "@sluice/errors"
import { assert, describe, it } from "@effect/vitest"
import { Clock, Effect } from "effect"
import { TestConsole } from "effect/testing"
import { runTest } from "./helpers.js"

const facts = { provider: "p", model: "m", reason: "r", solution: "s" }
const badRequest = () => new ModelBadRequestError({ ...facts, status: 400 })
const rateLimit = (retryAfterSeconds: number) => new ModelRateLimitError({ ...facts, status: 429, retryAfterSeconds })

describe("early shutdown keeps preserved work", () => {
  it.effect("an unrelated error rate trips early shutdown while rows wait on 429s: those rows and their DAG complete", () =>
    Effect.gen(function*() {
      const attempts = new Map<number, number>()
      const judged: Array<number> = []
      // Row 2's bad request trips a window of 1 at 10 ms. Then: row 3 (in flight) fails with a bad request too, rows
      // 0–1 get a 429 (Retry-After 1 s) at 20 ms, row 5 succeeds at 30 ms, row 4 is in flight until 3 s; rows 6–9
      // never got a slot (6 in flight) and row group 1 was never admitted.
      const { result, written } = yield* runTest(
        {
          rows: 20,
          bufferSize: 10,
          columns: [
            {
              name: "x",
              strategy: "cell",
              generate: ({ row }) =>
                Effect.gen(function*() {
                  const n = (attempts.get(row) ?? 0) + 1
                  attempts.set(row, n)
                  yield* Effect.sleep(row === 4 ? 3_000 : row <= 1 ? 20 : row === 5 ? 30 : 10)
                  if (row <= 1 && n === 1) return yield* Effect.fail(rateLimit(1))
                  if (row === 2 || row === 3) return yield* Effect.fail(badRequest())
                  return { x: row }
                })
            },
            {
              name: "judge",
              strategy: "cell",
              requires: ["x"],
              generate: ({ row }) => Effect.sync(() => (judged.push(row), { judge: row }))
            }
          ]
        },
        { earlyShutdown: { window: 1, rate: 1 }, maxInFlightTasks: 6, maxConcurrentRowGroups: 1 },
        { stepMs: 50 }
      )
      assert.isTrue(result.earlyShutdown)
      assert.strictEqual(result.stop?.reason, "early_shutdown")
      assert.include(result.stop?.message, "bad_request")
      // The 429 rows retried after the shutdown and completed, downstream included; so did the row in flight.
      assert.deepStrictEqual(written.flatMap((c) => c.rowIndexes.map((i) => c.firstRow + i)), [0, 1, 4, 5])
      assert.deepStrictEqual(judged.sort((a, b) => a - b), [0, 1, 4, 5])
      assert.strictEqual(attempts.get(0), 2)
      assert.deepStrictEqual(result.dropCauses, { bad_request: 2, early_shutdown: 14 })
      const notStarted = result.droppedRows.filter((d) => d.cause.kind === "early_shutdown").map((d) => d.row)
      assert.deepStrictEqual(notStarted.sort((a, b) => a - b), [
        6,
        7,
        8,
        9,
        ...Array.from({ length: 10 }, (_, i) => 10 + i)
      ])
      assert.isFalse(attempts.has(6), "rows not started when it tripped never start")
    }))

  it.effect("after early shutdown a preserved row still hits its preserve deadline: a typed cause and a log line", () =>
    Effect.gen(function*() {
      const { result } = yield* runTest(
        {
          rows: 4,
          bufferSize: 4,
          columns: [{
            name: "x",
            strategy: "cell",
            generate: ({ row }) =>
              Effect.gen(function*() {
                yield* Effect.sleep(10)
                if (row === 0) return yield* Effect.fail(rateLimit(1))
                if (row <= 2) return yield* Effect.fail(badRequest())
                return { x: row }
              })
          }]
        },
        { earlyShutdown: { window: 2, rate: 0.5 }, retry: { preserveDeadline: "5 seconds" } },
        { stepMs: 100 }
      )
      assert.strictEqual(result.stop?.reason, "early_shutdown")
      assert.deepStrictEqual(result.dropCauses, { bad_request: 2, preserve_deadline_exceeded: 1 })
      assert.strictEqual(result.rowsCompleted, 1)
      const deadline = result.droppedRows.find((d) => d.cause.kind === "preserve_deadline_exceeded")!
      assert.strictEqual(deadline.row, 0)
      assert.strictEqual(deadline.cause.error?._tag, "ModelRateLimitError")
      const logs = (yield* TestConsole.logLines).map(String)
      assert.isTrue(logs.some((l) => l.includes("preserve deadline")), "deadline log line")
      assert.isTrue(logs.some((l) => l.includes("Early shutdown")), "shutdown log line")
    }))

  it.effect("a retry-policy failure waiting in the ledger when it trips is dropped with its own cause", () =>
    Effect.gen(function*() {
      let row1Attempts = 0
      // Row 1 gets a 503 at 10 ms (retry policy: it waits ≥ 500 ms in the ledger); row 0's bad request at 20 ms
      // trips a window of 1.
      const { result } = yield* runTest(
        {
          rows: 4,
          bufferSize: 4,
          columns: [{
            name: "x",
            strategy: "cell",
            generate: ({ row }) =>
              Effect.gen(function*() {
                yield* Effect.sleep(row === 1 ? 10 : row === 0 ? 20 : 30)
                if (row === 1) {
                  row1Attempts++
                  return yield* Effect.fail(new ModelInternalServerError({ ...facts, status: 503 }))
                }
                if (row === 0) return yield* Effect.fail(badRequest())
                return { x: row }
              })
          }]
        },
        { earlyShutdown: { window: 1, rate: 1 } },
        { stepMs: 10 }
      )
      assert.strictEqual(row1Attempts, 1)
      assert.strictEqual(result.stop?.reason, "early_shutdown")
      assert.deepStrictEqual(result.dropCauses, { bad_request: 1, internal_server: 1 })
      assert.strictEqual(result.droppedRows.find((d) => d.row === 1)?.cause.error?._tag, "ModelInternalServerError")
      assert.strictEqual(result.rowsCompleted, 2)
    }))
})

describe("stopOnKinds", () => {
  it.effect("an authentication failure stops the run at once: running tasks interrupted, unfinished rows dropped", () =>
    Effect.gen(function*() {
      const interrupted: Array<number> = []
      let started = 0
      const { result, written, events } = yield* runTest({
        rows: 16,
        bufferSize: 4,
        columns: [{
          name: "x",
          strategy: "cell",
          generate: ({ row }) =>
            Effect.gen(function*() {
              started++
              // Row group 0 finishes at t = 10 ms and row group 2 is admitted; row 5 fails at 100 ms while rows 4, 6, 7
              // and 8–11 run until 1 s; row group 3 is never admitted.
              yield* Effect.sleep(row < 4 ? 10 : row === 5 ? 100 : 1_000).pipe(
                Effect.onInterrupt(() => Effect.sync(() => void interrupted.push(row)))
              )
              if (row === 5) return yield* Effect.fail(new ModelAuthenticationError({ ...facts, status: 401 }))
              return { x: row }
            })
        }]
      }, { maxConcurrentRowGroups: 2 })
      const stoppedAt = events.find((e) => e._tag === "scheduler_job_completed")!.at
      assert.isBelow(stoppedAt, 1_000, "did not wait for the running tasks")
      assert.deepStrictEqual(interrupted.sort((a, b) => a - b), [4, 6, 7, 8, 9, 10, 11])
      assert.strictEqual(started, 12, "no task started after the stop")
      assert.deepStrictEqual(result.stop, {
        reason: "stop_on_kind",
        kind: "authentication",
        message: result.stop?.message ?? ""
      })
      assert.include(result.stop?.message, "authentication")
      assert.include(result.stop?.message, "Model 'm' on provider 'p' failed")
      assert.isTrue(result.earlyShutdown)
      assert.deepStrictEqual(written.map((c) => c.rowGroup), [0], "the finished row group is checkpointed")
      assert.deepStrictEqual(result.dropCauses, { authentication: 1, early_shutdown: 11 })
      for (const d of result.droppedRows.filter((d) => d.cause.kind === "early_shutdown")) {
        assert.include(d.cause.message, "authentication")
      }
      assert.isTrue(events.some((e) => e._tag === "cancelled"))
      const completed = events.at(-1)!
      assert.isTrue(completed._tag === "scheduler_job_completed" && completed.stop?.reason === "stop_on_kind")
    }))

  it.effect("stopOnKinds: [] turns it off; other kinds can stop a run too", () =>
    Effect.gen(function*() {
      const auth = yield* runTest({
        rows: 4,
        bufferSize: 4,
        columns: [{
          name: "x",
          strategy: "cell",
          generate: ({ row }) =>
            row === 0 ? Effect.fail(new ModelAuthenticationError({ ...facts, status: 401 })) : Effect.succeed({ x: 1 })
        }]
      }, { stopOnKinds: [], earlyShutdown: false })
      assert.isUndefined(auth.result.stop)
      assert.strictEqual(auth.result.rowsCompleted, 3)
      const notFound = yield* runTest({
        rows: 4,
        bufferSize: 4,
        columns: [{
          name: "x",
          strategy: "cell",
          generate: ({ row }) =>
            Effect.sleep(row * 10).pipe(
              Effect.andThen(row === 1 ? Effect.fail(new ModelNotFoundError({ ...facts, status: 404 })) : Effect.void),
              Effect.as({ x: 1 })
            )
        }]
      }, { stopOnKinds: ["not_found"] })
      assert.deepStrictEqual(notFound.result.stop?.kind, "not_found")
      assert.deepStrictEqual(notFound.result.dropCauses, { not_found: 1, early_shutdown: 2 })
    }))
})

describe("earlyShutdown.ignoredKinds", () => {
  const failing = (ignoredKinds: ReadonlyArray<string>) =>
    runTest({
      rows: 10,
      bufferSize: 10,
      columns: [{
        name: "x",
        strategy: "cell",
        generate: ({ row }) =>
          Clock.currentTimeMillis.pipe(
            Effect.andThen(Effect.sleep(row * 10)),
            Effect.andThen(row < 6 ? Effect.fail(new ModelNotFoundError({ ...facts, status: 404 })) : Effect.void),
            Effect.as({ x: row })
          )
      }]
    }, { earlyShutdown: { window: 2, rate: 0.5, ignoredKinds } })

  it.effect("failures of an ignored kind never count toward the window", () =>
    Effect.gen(function*() {
      const counted = yield* failing([])
      assert.strictEqual(counted.result.stop?.reason, "early_shutdown")
      const ignored = yield* failing(["not_found"])
      assert.isFalse(ignored.result.earlyShutdown)
      assert.isUndefined(ignored.result.stop)
      assert.deepStrictEqual(ignored.result.dropCauses, { not_found: 6 })
      assert.strictEqual(ignored.result.rowsCompleted, 4)
    }))
})
