import {
  ModelAuthenticationError,
  ModelInternalServerError,
  ModelRateLimitError,
  ModelRequestAdmissionTimeoutError
} from "@sluice/errors"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { TestConsole } from "effect/testing"
import { SchedulerGeneratorError } from "../src/index.js"
import { runTest } from "./helpers.js"

const facts = { provider: "p", model: "m", reason: "r", solution: "s" }
const auth = () => new ModelAuthenticationError({ ...facts, status: 401 })
const server = () => new ModelInternalServerError({ ...facts, status: 503 })
const rateLimit = (retryAfterSeconds?: number) =>
  new ModelRateLimitError({ ...facts, status: 429, ...(retryAfterSeconds === undefined ? {} : { retryAfterSeconds }) })

describe("non-retryable failures", () => {
  it.effect("a failing cell drops its row with the typed cause; downstream never runs for it", () =>
    Effect.gen(function*() {
      const downstream: Array<number> = []
      const { result, written } = yield* runTest({
        rows: 4,
        bufferSize: 4,
        columns: [
          {
            name: "a",
            strategy: "cell",
            generate: ({ row }) => row === 1 ? Effect.fail(auth()) : Effect.succeed({ a: row })
          },
          {
            name: "b",
            strategy: "cell",
            requires: ["a"],
            generate: ({ row }) => Effect.sync(() => (downstream.push(row), { b: row }))
          }
        ]
      }, { earlyShutdown: false, stopOnKinds: [] })
      assert.deepStrictEqual(downstream.sort(), [0, 2, 3])
      assert.deepStrictEqual(result.dropCauses, { authentication: 1 })
      assert.strictEqual(result.droppedRows[0]!.row, 1)
      assert.strictEqual(result.droppedRows[0]!.cause.column, "a")
      assert.strictEqual(result.droppedRows[0]!.cause.error?._tag, "ModelAuthenticationError")
      assert.deepStrictEqual(written[0]!.rowIndexes, [0, 2, 3])
    }))

  it.effect("a failing batch task drops its whole row group; other row groups complete", () =>
    Effect.gen(function*() {
      const { result, written } = yield* runTest({
        rows: 6,
        bufferSize: 2,
        columns: [
          { name: "a", strategy: "cell", generate: ({ row }) => Effect.succeed({ a: row }) },
          {
            name: "b",
            strategy: "full",
            requires: ["a"],
            generate: ({ rowGroup, rows }) =>
              rowGroup === 1
                ? Effect.fail(new SchedulerGeneratorError({ message: "boom" }))
                : Effect.succeed(rows.map(() => ({ b: 1 })))
          }
        ]
      }, { earlyShutdown: false })
      assert.deepStrictEqual(written.map((w) => w.rowGroup), [0, 2])
      assert.deepStrictEqual(result.droppedRows.map((d) => d.row), [2, 3])
      assert.deepStrictEqual(result.dropCauses, { generator_failure: 2 })
    }))

  it.effect("a failing from-scratch seed drops every row of its group and writes nothing for it", () =>
    Effect.gen(function*() {
      const { result, written } = yield* runTest({
        rows: 3,
        bufferSize: 3,
        columns: [
          { name: "seed", strategy: "full", generate: () => Effect.die("kaput") },
          { name: "x", strategy: "cell", requires: ["seed"], generate: () => Effect.succeed({ x: 1 }) }
        ]
      })
      assert.strictEqual(written.length, 0)
      assert.deepStrictEqual(result.dropCauses, { generator_defect: 3 })
      assert.strictEqual(result.checkpointedRowGroups, 1)
    }))

  it.effect("a malformed batch result is a generator failure that drops the row group", () =>
    Effect.gen(function*() {
      const { result } = yield* runTest({
        rows: 2,
        bufferSize: 2,
        columns: [{ name: "seed", strategy: "full", generate: () => Effect.succeed([{ seed: 1 }]) }]
      })
      assert.deepStrictEqual(result.dropCauses, { generator_failure: 2 })
      assert.include(result.droppedRows[0]!.cause.message, "returned 1 rows for 2 rows")
    }))
})

describe("retry ledger", () => {
  it.effect("retryable failures recover: two 503s then success, nothing dropped", () =>
    Effect.gen(function*() {
      const calls = new Map<number, number>()
      const { result } = yield* runTest(
        {
          rows: 3,
          bufferSize: 3,
          columns: [{
            name: "x",
            strategy: "cell",
            generate: ({ row }) => {
              const n = (calls.get(row) ?? 0) + 1
              calls.set(row, n)
              return n <= 2 ? Effect.fail(server()) : Effect.succeed({ x: n })
            }
          }]
        },
        {},
        { stepMs: 100 }
      )
      assert.strictEqual(result.rowsCompleted, 3)
      assert.deepStrictEqual(result.outcomes, { internal_server: 6, success: 3 })
    }))

  it.effect("a retry-policy failure gets 3 attempts, then its row is dropped with the cause", () =>
    Effect.gen(function*() {
      let calls = 0
      const { result } = yield* runTest(
        {
          rows: 2,
          bufferSize: 2,
          columns: [{
            name: "x",
            strategy: "cell",
            generate: ({ row }) =>
              row === 0
                ? Effect.sync(() => calls++).pipe(Effect.andThen(Effect.fail(server())))
                : Effect.succeed({ x: 1 })
          }]
        },
        {},
        { stepMs: 100 }
      )
      assert.strictEqual(calls, 3)
      assert.deepStrictEqual(result.dropCauses, { internal_server: 1 })
      assert.strictEqual(result.droppedRows[0]!.cause.attempts, 3)
      assert.isFalse(result.earlyShutdown)
    }))

  it.effect("retryable generator errors are retried; rate limits are preserved beyond the attempt budget", () =>
    Effect.gen(function*() {
      const calls = new Map<number, number>()
      const { result } = yield* runTest(
        {
          rows: 2,
          bufferSize: 2,
          columns: [{
            name: "x",
            strategy: "cell",
            generate: ({ row }) => {
              const n = (calls.get(row) ?? 0) + 1
              calls.set(row, n)
              if (row === 0 && n <= 2) {
                return Effect.fail(new SchedulerGeneratorError({ message: "invalid json", retryable: true }))
              }
              if (row === 1 && n <= 7) return Effect.fail(rateLimit())
              return Effect.succeed({ x: n })
            }
          }]
        },
        {},
        { stepMs: 500 }
      )
      assert.strictEqual(result.rowsCompleted, 2)
      assert.strictEqual(calls.get(1), 8)
      assert.strictEqual(result.outcomes["rate_limit"], 7)
    }))

  it.effect("a preserve deadline drops a forever-429 row with a typed cause and a log line", () =>
    Effect.gen(function*() {
      const { result } = yield* runTest(
        {
          rows: 2,
          bufferSize: 2,
          columns: [{
            name: "x",
            strategy: "cell",
            generate: ({ row }) => row === 0 ? Effect.fail(rateLimit(1)) : Effect.succeed({ x: 1 })
          }]
        },
        { retry: { preserveDeadline: "10 seconds" } },
        { stepMs: 250 }
      )
      assert.deepStrictEqual(result.dropCauses, { preserve_deadline_exceeded: 1 })
      assert.strictEqual(result.droppedRows[0]!.cause.error?._tag, "ModelRateLimitError")
      const logs = yield* TestConsole.logLines
      assert.isTrue(logs.some((l) => String(l).includes("preserve deadline")), "log line")
    }))
})

describe("early shutdown", () => {
  it.effect("stops on the sliding window; every row is completed or dropped with a cause", () =>
    Effect.gen(function*() {
      const { result } = yield* runTest({
        rows: 40,
        bufferSize: 4,
        columns: [{
          name: "x",
          strategy: "cell",
          generate: ({ row }) =>
            Effect.sleep(10).pipe(Effect.andThen(row % 2 === 0 ? Effect.fail(auth()) : Effect.succeed({ x: 1 })))
        }]
      }, { earlyShutdown: { window: 4, rate: 0.5 }, stopOnKinds: [] })
      assert.isTrue(result.earlyShutdown)
      assert.isAbove(result.dropCauses.early_shutdown ?? 0, 0)
      assert.isBelow(result.rowsCompleted, 20)
    }))

  it.effect("disabling it really disables it, even at 100 % failures", () =>
    Effect.gen(function*() {
      const { result } = yield* runTest({
        rows: 30,
        bufferSize: 10,
        columns: [{ name: "x", strategy: "cell", generate: () => Effect.fail(auth()) }]
      }, { earlyShutdown: false, stopOnKinds: [] })
      assert.isFalse(result.earlyShutdown)
      assert.deepStrictEqual(result.dropCauses, { authentication: 30 })
    }))

  it.effect("retryable failures never count toward it", () =>
    Effect.gen(function*() {
      const calls = new Map<number, number>()
      const { result } = yield* runTest(
        {
          rows: 10,
          bufferSize: 10,
          columns: [{
            name: "x",
            strategy: "cell",
            generate: ({ row }) => {
              const n = (calls.get(row) ?? 0) + 1
              calls.set(row, n)
              return n === 1 && row < 8 ? Effect.fail(n % 2 ? rateLimit(1) : server()) : Effect.succeed({ x: 1 })
            }
          }]
        },
        { earlyShutdown: { window: 2, rate: 0.5 } },
        { stepMs: 100 }
      )
      assert.isFalse(result.earlyShutdown)
      assert.strictEqual(result.rowsCompleted, 10)
    }))
})

describe("admission timeouts", () => {
  it.effect("a local admission timeout is preserved and re-queued after the 50 ms floor, not a backoff", () =>
    Effect.gen(function*() {
      let calls = 0
      const { events, result } = yield* runTest({
        rows: 1,
        bufferSize: 1,
        columns: [{
          name: "x",
          strategy: "cell",
          generate: () =>
            ++calls <= 3
              ? Effect.fail(
                new ModelRequestAdmissionTimeoutError({
                  ...facts,
                  resource: "p/m/chat",
                  waitedMs: 150,
                  waitersAhead: 2
                })
              )
              : Effect.succeed({ x: calls })
        }]
      })
      assert.strictEqual(calls, 4)
      assert.strictEqual(result.rowsCompleted, 1)
      assert.strictEqual(result.outcomes["request_admission_timeout"], 3)
      // No backoff timer (the first would be ≥ 500 ms), but no spin either: each retry waits the 50 ms floor.
      const retries = events.filter((e) => e._tag === "retry_redispatched").map((e) => e.at)
      assert.deepStrictEqual(retries, [50, 100, 150])
    }))
})
