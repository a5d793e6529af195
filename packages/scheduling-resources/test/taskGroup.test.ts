import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import {
  makeTaskGroupKey,
  makeTaskGroupSpec,
  TaskGroupKey,
  taskGroupFlow,
  TaskGroupKind,
  taskGroupKey,
  taskGroupKinds,
  taskGroupLabel,
  TaskGroupSpec
} from "../src/index.js"
import { expectInvalid } from "./helpers.js"

// The exported interfaces and the Schemas describe the same values.
const keyFromSchema: TaskGroupKey = {} as typeof TaskGroupKey.Type
const keyToSchema: typeof TaskGroupKey.Type = {} as TaskGroupKey
const specFromSchema: TaskGroupSpec = {} as typeof TaskGroupSpec.Type
const specToSchema: typeof TaskGroupSpec.Type = {} as TaskGroupSpec

const key = taskGroupKey("model", "openai/gpt-4o/chat", "review")

describe("TaskGroupKey", () => {
  it.effect("constructs and validates", () =>
    Effect.gen(function*() {
      assert.deepStrictEqual(taskGroupKinds, ["local", "model", "custom_model"])
      assert.deepStrictEqual(TaskGroupKind.literals, taskGroupKinds)
      assert.deepStrictEqual(key, { kind: "model", identity: "openai/gpt-4o/chat", flow: "review" })
      assert.deepStrictEqual(yield* makeTaskGroupKey({ ...key }), key)
      yield* expectInvalid(makeTaskGroupKey({ ...key, kind: "remote" }), "kind", "got \"remote\"")
      yield* expectInvalid(makeTaskGroupKey({ ...key, identity: "" }), "identity", "length of at least 1")
      yield* expectInvalid(makeTaskGroupKey({ ...key, flow: "" }), "flow", "length of at least 1")
      yield* expectInvalid(makeTaskGroupKey([]), "key", "Expected object")
      assert.deepStrictEqual(keyFromSchema, keyToSchema)
    }))

  it.effect("labels are stable and unambiguous", () =>
    Effect.sync(() => {
      assert.strictEqual(taskGroupLabel(key), "model:openai%2Fgpt-4o%2Fchat/review")
      assert.strictEqual(taskGroupLabel(taskGroupKey("local", "default", "topic")), "local:default/topic")
      const names = ["a", "b", "a/b", "b/c", "/", "%", "%2F", ":", "a:b", "local:a", "é"]
      const labels = new Set<string>()
      for (const kind of taskGroupKinds) {
        for (const identity of names) {
          for (const flow of names) labels.add(taskGroupLabel(taskGroupKey(kind, identity, flow)))
        }
      }
      assert.strictEqual(labels.size, taskGroupKinds.length * names.length ** 2)
    }))

  it.effect("taskGroupFlow keeps column lists apart", () =>
    Effect.sync(() => {
      assert.strictEqual(taskGroupFlow(["review"]), "review")
      assert.strictEqual(taskGroupFlow(["question", "answer"]), "question,answer")
      assert.strictEqual(taskGroupFlow(["a,b"]), "a%2Cb")
      const columns = ["a", "b", ",", "a,b", "%", "%2C", ""]
      const lists: Array<ReadonlyArray<string>> = []
      for (const x of columns) {
        lists.push([x])
        for (const y of columns) {
          lists.push([x, y])
          for (const z of columns) lists.push([x, y, z])
        }
      }
      assert.strictEqual(new Set(lists.map(taskGroupFlow)).size, lists.length)
    }))
})

describe("TaskGroupSpec", () => {
  it.effect("accepts a weight >= 1 and an optional positive admitted limit", () =>
    Effect.gen(function*() {
      assert.deepStrictEqual(yield* makeTaskGroupSpec({ key, weight: 1 }), { key, weight: 1 })
      assert.deepStrictEqual(yield* makeTaskGroupSpec({ key, weight: 2.5, admittedLimit: 5 }), {
        key,
        weight: 2.5,
        admittedLimit: 5
      })
      const noLimit = yield* makeTaskGroupSpec({ key, weight: 3, admittedLimit: undefined })
      assert.deepStrictEqual(noLimit, { key, weight: 3 })
      assert.isFalse("admittedLimit" in noLimit)
      assert.deepStrictEqual(specFromSchema, specToSchema)
    }))

  it.effect("names the bad field", () =>
    Effect.gen(function*() {
      const weight = yield* expectInvalid(makeTaskGroupSpec({ key, weight: 0.5 }), "weight", "at least 1, got 0.5")
      assert.strictEqual(weight.value, 0.5)
      yield* expectInvalid(makeTaskGroupSpec({ key, weight: 0 }), "weight", "Expected a weight of at least 1")
      yield* expectInvalid(makeTaskGroupSpec({ key, weight: -3 }), "weight", "Expected a weight of at least 1")
      yield* expectInvalid(makeTaskGroupSpec({ key, weight: Number.NaN }), "weight", "finite")
      yield* expectInvalid(makeTaskGroupSpec({ key, weight: Infinity }), "weight", "finite")
      yield* expectInvalid(makeTaskGroupSpec({ key, weight: "2" }), "weight", "Expected number")
      yield* expectInvalid(makeTaskGroupSpec({ key }), "weight", "Missing key")
      yield* expectInvalid(makeTaskGroupSpec({ key, weight: 1, admittedLimit: 0 }), "admittedLimit", "positive integer")
      yield* expectInvalid(makeTaskGroupSpec({ key, weight: 1, admittedLimit: 1.5 }), "admittedLimit", "got 1.5")
      yield* expectInvalid(makeTaskGroupSpec({ key, weight: 1, admittedLimit: null }), "admittedLimit", "got null")
      yield* expectInvalid(makeTaskGroupSpec({ key: { ...key, kind: "x" }, weight: 1 }), "key.kind", "got \"x\"")
      yield* expectInvalid(makeTaskGroupSpec({ key: { ...key, identity: "" }, weight: 1 }), "key.identity", "length")
      yield* expectInvalid(makeTaskGroupSpec({ key: { ...key, flow: "" }, weight: 1 }), "key.flow", "length")
      yield* expectInvalid(makeTaskGroupSpec({ weight: 1 }), "key", "Missing key")
      yield* expectInvalid(makeTaskGroupSpec(undefined), "spec", "Expected object")
    }))
})
