import { assert, describe, it } from "@effect/vitest"
import { Effect, Option, Schema } from "effect"
import { makeTaskRef, parseTaskId, TaskId, taskId, TaskRef, TaskType, taskTypes } from "../src/index.js"
import { expectInvalid } from "./helpers.js"

// The exported interface and the Schema describe the same values.
const refFromSchema: TaskRef = {} as typeof TaskRef.Type
const refToSchema: typeof TaskRef.Type = {} as TaskRef

/** Column names built to collide with a naive `column:rowGroup:rowIndex:type` id. */
const adversarialColumns = [
  "review",
  "review:0",
  "0:review",
  "cell:0:0:review",
  ":",
  "::",
  "-",
  "a/b",
  "%3A",
  "🦀 ünïcödé"
]

describe("TaskRef", () => {
  it.effect("validates", () =>
    Effect.gen(function*() {
      assert.deepStrictEqual(taskTypes, ["from_scratch", "cell", "batch"])
      assert.deepStrictEqual(TaskType.literals, taskTypes)
      const cell = { column: "review", rowGroup: 2, rowIndex: 7, type: "cell" } as const
      assert.deepStrictEqual(yield* makeTaskRef(cell), cell)
      const batch = { column: "summary", rowGroup: 0, rowIndex: null, type: "batch" } as const
      assert.deepStrictEqual(yield* makeTaskRef(batch), batch)
      yield* expectInvalid(makeTaskRef({ ...cell, column: "" }), "column", "length of at least 1")
      yield* expectInvalid(makeTaskRef({ ...cell, rowGroup: -1 }), "rowGroup", "non-negative integer, got -1")
      yield* expectInvalid(makeTaskRef({ ...cell, rowGroup: 1.5 }), "rowGroup", "integer")
      yield* expectInvalid(makeTaskRef({ ...cell, rowIndex: -2 }), "rowIndex", "non-negative integer")
      yield* expectInvalid(makeTaskRef({ ...cell, type: "pre_batch_processor" }), "type", "got \"pre_batch_processor\"")
      yield* expectInvalid(makeTaskRef({ ...cell, rowIndex: null }), "rowIndex", "row index for a cell task")
      yield* expectInvalid(makeTaskRef({ ...batch, rowIndex: 3 }), "rowIndex", "Expected null for a batch task")
      yield* expectInvalid(makeTaskRef(42), "task", "Expected object")
      assert.deepStrictEqual(refFromSchema, refToSchema)
    }))
})

describe("taskId", () => {
  it.effect("is deterministic and readable", () =>
    Effect.sync(() => {
      const ref: TaskRef = { column: "review", rowGroup: 3, rowIndex: 17, type: "cell" }
      assert.strictEqual(taskId(ref), "cell:3:17:review")
      assert.strictEqual(taskId({ ...ref }), taskId(ref))
      assert.strictEqual(taskId({ column: "summary", rowGroup: 3, rowIndex: null, type: "batch" }), "batch:3:-:summary")
      assert.strictEqual(
        taskId({ column: "topic", rowGroup: 0, rowIndex: null, type: "from_scratch" }),
        "from_scratch:0:-:topic"
      )
    }))

  it.effect("parses back, and rejects non-canonical ids", () =>
    Effect.gen(function*() {
      for (const column of adversarialColumns) {
        for (
          const ref of [
            { column, rowGroup: 12, rowIndex: 0, type: "cell" },
            { column, rowGroup: 0, rowIndex: null, type: "batch" },
            { column, rowGroup: 9, rowIndex: null, type: "from_scratch" }
          ] satisfies Array<TaskRef>
        ) {
          const id = taskId(ref)
          assert.deepStrictEqual(parseTaskId(id), Option.some(ref))
          assert.strictEqual(yield* Schema.decodeUnknownEffect(TaskId)(id), id)
        }
      }
      for (
        const bad of [
          "",
          "cell",
          "cell:1:2",
          "cell:1:2:",
          "cell:01:2:a",
          "cell:1:-:a",
          "batch:1:2:a",
          "cell:-1:2:a",
          "cell:1.5:2:a",
          "cell:1e3:2:a",
          "row:1:2:a",
          "cell: 1:2:a"
        ]
      ) {
        assert.isTrue(Option.isNone(parseTaskId(bad)), bad)
        assert.isFalse(Schema.is(TaskId)(bad), bad)
      }
    }))

  it.effect("never collides over 1,000,000+ distinct tasks with adversarial column names", () =>
    Effect.sync(() => {
      const ids = new Set<string>()
      let count = 0
      for (let rowGroup = 0; rowGroup < 1_000; rowGroup++) {
        for (const column of adversarialColumns) {
          for (let rowIndex = 0; rowIndex < 100; rowIndex++) {
            ids.add(taskId({ column, rowGroup, rowIndex, type: "cell" }))
            count++
          }
          ids.add(taskId({ column, rowGroup, rowIndex: null, type: "batch" }))
          ids.add(taskId({ column, rowGroup, rowIndex: null, type: "from_scratch" }))
          count += 2
        }
      }
      assert.strictEqual(count, 1_020_000)
      assert.strictEqual(ids.size, count)
    }))
})
