import { Effect } from "effect"
import { SchedulerConfigError } from "../errors.js"
import type { Column } from "../Spec.js"

/** A generator as a node of the execution graph. Tracking is per generator: its outputs complete together. */
export interface GraphNode {
  readonly index: number
  readonly name: string
  readonly strategy: "cell" | "full"
  readonly outputs: ReadonlyArray<string>
  readonly upstream: ReadonlyArray<number>
  readonly downstream: Array<number>
  readonly cellUpstream: ReadonlyArray<number>
  readonly fullUpstream: ReadonlyArray<number>
}

export interface ExecutionGraph {
  readonly nodes: ReadonlyArray<GraphNode>
  /** Generators without requirements. */
  readonly roots: ReadonlyArray<number>
  readonly topologicalOrder: ReadonlyArray<number>
}

const fail = (
  field: string,
  reason: SchedulerConfigError["reason"],
  message: string,
  columns?: ReadonlyArray<string>
) =>
  Effect.fail(
    new SchedulerConfigError(columns === undefined ? { field, reason, message } : { field, reason, message, columns })
  )

const isNonEmptyString = (u: unknown): u is string => typeof u === "string" && u.length > 0

/** Builds the DAG from required columns: unknown columns, duplicate outputs and cycles are typed errors naming them. */
export const buildGraph = Effect.fnUntraced(function*<R>(
  columns: ReadonlyArray<Column<R>>
): Effect.fn.Return<ExecutionGraph, SchedulerConfigError> {
  if (!Array.isArray(columns) || columns.length === 0) {
    return yield* fail("columns", "invalid_value", "Expected at least one column")
  }
  const names = new Map<string, number>()
  const producer = new Map<string, number>()
  const outputsOf: Array<ReadonlyArray<string>> = []
  for (let i = 0; i < columns.length; i++) {
    const column = columns[i]!
    if (!isNonEmptyString(column.name)) {
      return yield* fail(`columns[${i}].name`, "invalid_value", "Expected a non-empty column name")
    }
    if (names.has(column.name)) {
      return yield* fail(`columns[${i}].name`, "duplicate_column", `Column "${column.name}" is declared twice`, [
        column.name
      ])
    }
    names.set(column.name, i)
    if (column.strategy !== "cell" && column.strategy !== "full") {
      return yield* fail(
        `columns[${i}].strategy`,
        "invalid_value",
        `Expected "cell" or "full", got ${String(column.strategy)}`
      )
    }
    if (typeof column.generate !== "function") {
      return yield* fail(`columns[${i}].generate`, "invalid_value", "Expected a generate function")
    }
    const outputs = column.outputs ?? [column.name]
    if (outputs.length === 0) {
      return yield* fail(`columns[${i}].outputs`, "invalid_value", "Expected at least one output column")
    }
    for (let j = 0; j < outputs.length; j++) {
      const output = outputs[j]
      if (!isNonEmptyString(output)) {
        return yield* fail(`columns[${i}].outputs[${j}]`, "invalid_value", "Expected a non-empty output column name")
      }
      const owner = producer.get(output)
      if (owner !== undefined) {
        return yield* fail(
          `columns[${i}].outputs[${j}]`,
          "duplicate_output",
          `Output column "${output}" is produced by both "${columns[owner]!.name}" and "${column.name}"`,
          [columns[owner]!.name, column.name]
        )
      }
      producer.set(output, i)
    }
    outputsOf.push(outputs)
  }
  const upstreamOf: Array<Array<number>> = []
  for (let i = 0; i < columns.length; i++) {
    const requires = columns[i]!.requires ?? []
    const upstream: Array<number> = []
    for (let j = 0; j < requires.length; j++) {
      const required = requires[j]
      const owner = isNonEmptyString(required) ? producer.get(required) : undefined
      if (owner === undefined) {
        return yield* fail(
          `columns[${i}].requires[${j}]`,
          "unknown_required_column",
          `Column "${columns[i]!.name}" requires unknown column ${JSON.stringify(required)}`,
          [columns[i]!.name]
        )
      }
      // A generator reading its own output is not an edge; repeated requirements are one edge.
      if (owner !== i && !upstream.includes(owner)) upstream.push(owner)
    }
    upstreamOf.push(upstream)
  }
  const cycle = findCycle(upstreamOf)
  if (cycle !== undefined) {
    const cycleNames = cycle.map((i) => columns[i]!.name)
    return yield* fail(
      `columns[${cycle[0]}].requires`,
      "cycle",
      `Columns form a cycle: ${[...cycleNames, cycleNames[0]].join(" -> ")}`,
      cycleNames
    )
  }
  const nodes: Array<GraphNode> = columns.map((column, index) => {
    const upstream = upstreamOf[index]!
    return {
      index,
      name: column.name,
      strategy: column.strategy,
      outputs: outputsOf[index]!,
      upstream,
      downstream: [],
      cellUpstream: upstream.filter((u) => columns[u]!.strategy === "cell"),
      fullUpstream: upstream.filter((u) => columns[u]!.strategy === "full")
    }
  })
  for (const node of nodes) for (const u of node.upstream) nodes[u]!.downstream.push(node.index)
  return {
    nodes,
    roots: nodes.filter((n) => n.upstream.length === 0).map((n) => n.index),
    topologicalOrder: topologicalOrder(upstreamOf)
  }
})

/** Depth-first search for a cycle; returns the generators on it, in dependency order. */
const findCycle = (upstreamOf: ReadonlyArray<ReadonlyArray<number>>): ReadonlyArray<number> | undefined => {
  const state = new Uint8Array(upstreamOf.length) // 0 unvisited, 1 on stack, 2 done
  const stack: Array<number> = []
  const visit = (i: number): ReadonlyArray<number> | undefined => {
    state[i] = 1
    stack.push(i)
    for (const u of upstreamOf[i]!) {
      if (state[u] === 1) return stack.slice(stack.indexOf(u)).reverse()
      if (state[u] === 0) {
        const found = visit(u)
        if (found !== undefined) return found
      }
    }
    stack.pop()
    state[i] = 2
    return undefined
  }
  for (let i = 0; i < upstreamOf.length; i++) {
    if (state[i] === 0) {
      const found = visit(i)
      if (found !== undefined) return found
    }
  }
  return undefined
}

const topologicalOrder = (upstreamOf: ReadonlyArray<ReadonlyArray<number>>): ReadonlyArray<number> => {
  const order: Array<number> = []
  const seen = new Uint8Array(upstreamOf.length)
  const visit = (i: number): void => {
    if (seen[i] === 1) return
    seen[i] = 1
    for (const u of upstreamOf[i]!) visit(u)
    order.push(i)
  }
  for (let i = 0; i < upstreamOf.length; i++) visit(i)
  return order
}
