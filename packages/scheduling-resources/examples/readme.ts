// Keys, resource requests, a task group and a task id — and bad input as a typed failure.
import { Effect } from "effect"
import {
  llmWaitResource,
  makeSchedulerResourceRequest,
  makeTaskGroupSpec,
  providerModelKey,
  providerModelLabel,
  requestCapacityResource,
  submissionResource,
  taskGroupLabel,
  taskId
} from "@sluice/scheduling-resources"

const program = Effect.gen(function*() {
  // a model name containing "/" stays unambiguous in every label
  const endpoint = providerModelKey("together", "meta/llama-3")

  // what one model task holds while it runs
  const request = yield* makeSchedulerResourceRequest([
    [submissionResource, 1],
    [llmWaitResource, 1],
    [requestCapacityResource(endpoint), 1]
  ])

  // the fair-queue group of the "review" column
  const group = yield* makeTaskGroupSpec({
    key: { kind: "model", identity: "together/meta/llama-3/chat", flow: "review" },
    weight: 4,
    admittedLimit: 8
  })

  // bad input is a typed failure naming the field, never a throw
  const bad = yield* Effect.flip(makeSchedulerResourceRequest({ llm_wait: 0 }))

  return {
    endpoint: providerModelLabel(endpoint),
    resources: [...request.keys()],
    group: taskGroupLabel(group.key),
    task: taskId({ column: "review", rowGroup: 0, rowIndex: 17, type: "cell" }),
    error: `${bad._tag} at ${bad.field}: ${bad.message}`
  }
})

console.log(JSON.stringify(Effect.runSync(program), null, 2))
