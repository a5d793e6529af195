// Three generators — a local sampler and two LLM columns on one endpoint — resolved into task groups, resource
// requests, limits and a capacity plan.
import { Effect } from "effect"
import {
  formatCapacityPlan,
  localMetadata,
  metadataForModelAliases,
  type ModelAlias,
  resolveScheduling
} from "@sluice/resolver"

const models: ReadonlyArray<ModelAlias> = [
  { alias: "writer", provider: "openai", model: "gpt-4o", maxParallelRequests: 32 },
  { alias: "critic", provider: "openai", model: "gpt-4o", maxParallelRequests: 8, generationKind: "chat-completion" }
]

// A generator hands over whatever its derivation produced: metadata, or the error (whose fallback, if any, is used
// and reported in the plan's diagnostics).
const metadataOf = (column: string, aliases: ReadonlyArray<string>) =>
  metadataForModelAliases(column, aliases, models).pipe(Effect.catch((error) => Effect.succeed(error)))

const program = Effect.gen(function*() {
  const scheduling = yield* resolveScheduling(
    [
      { generator: "topic", outputColumns: ["topic"], metadata: localMetadata() },
      { generator: "review", outputColumns: ["review"], metadata: yield* metadataOf("review", ["writer"]) },
      { generator: "verdict", outputColumns: ["verdict"], metadata: yield* metadataOf("verdict", ["critic"]) }
    ],
    { maxInFlightTasks: 128 }
  )
  const review = scheduling.generators.get("review")!
  return {
    reviewGroup: review.group, // { key: { kind: "model", identity: "openai/gpt-4o/chat", flow: "review" }, weight: 8, admittedLimit: 16 }
    reviewRequest: Object.fromEntries(review.request), // { submission: 1, llm_wait: 1, "request:openai/gpt-4o": 1 }
    topicRequest: Object.fromEntries(scheduling.generators.get("topic")!.request), // { submission: 1 }
    limits: Object.fromEntries(scheduling.limits), // { submission: 128, llm_wait: 128, "request:openai/gpt-4o": 8 }
    plan: formatCapacityPlan(scheduling.capacityPlan)
  }
})

const { plan, ...values } = Effect.runSync(program)
console.log(JSON.stringify(values)) // the values in the comments above, on one line
console.log(plan)
