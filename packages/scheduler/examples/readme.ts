// example-deps: @sluice/request-admission
// A local sampler, an LLM column and a judge column, against an in-process fake model behind request admission.
import { ProviderError } from "@sluice/errors"
import { make as makeRequestAdmission, makeExecutor } from "@sluice/request-admission"
import { localMetadata, modelMetadata } from "@sluice/resolver"
import { type Checkpoint, runScheduler } from "@sluice/scheduler"
import { requestResourceKey } from "@sluice/scheduling-resources"
import { Effect } from "effect"

// An in-process fake model: a deterministic answer per prompt, no network. A real client would map HTTP
// answers to `ProviderError` with `providerErrorFromHttp`.
const fakeModel = (prompt: string): Effect.Effect<string, ProviderError> =>
  prompt.length === 0
    ? Effect.fail(new ProviderError({ kind: "bad_request", message: "empty prompt", status: 400 }))
    : prompt.startsWith("Is this review positive?")
    ? Effect.succeed(prompt.includes("great") ? "yes" : "no")
    : Effect.succeed(prompt.includes("tents") ? "Sturdy and dry, a great buy." : "Fine, nothing special.")

const program = Effect.gen(function*() {
  // Request admission owns "may this call start now?": AIMD limits, cooldowns, leases.
  const admission = yield* makeRequestAdmission({
    models: [{ provider: "local", model: "writer", maxParallelRequests: 4 }]
  })
  const executor = makeExecutor(admission)
  const writer = requestResourceKey("local", "writer", "chat")
  const ask = (purpose: string, prompt: string) =>
    executor.execute({ resource: writer, purpose }, () => fakeModel(prompt))

  const written: Array<Checkpoint> = []
  const result = yield* runScheduler({
    rows: 6,
    bufferSize: 3,
    sink: { write: (checkpoint) => Effect.sync(() => void written.push(checkpoint)) },
    columns: [
      {
        // A local sampler: no model call.
        name: "topic",
        strategy: "cell",
        scheduling: localMetadata(),
        generate: ({ row }) => Effect.succeed({ topic: ["shoes", "tents", "lamps"][row % 3] })
      },
      {
        // An LLM column on the writer endpoint (maxParallelRequests 4).
        name: "review",
        strategy: "cell",
        requires: ["topic"],
        scheduling: modelMetadata("local", "writer", "chat", 4),
        generate: ({ values }) =>
          ask("review", `Write a short review of ${values.topic}.`).pipe(Effect.map((review) => ({ review })))
      },
      {
        // A judge column reading the review.
        name: "verdict",
        strategy: "cell",
        requires: ["review"],
        scheduling: modelMetadata("local", "writer", "chat", 4),
        generate: ({ values }) =>
          ask("verdict", `Is this review positive? ${values.review}`).pipe(
            Effect.map((answer) => ({ verdict: answer === "yes" ? "positive" : "neutral" }))
          )
      }
    ]
  }, { requestCapacity: admission })
  // result: { rowsCompleted: 6, rowsDropped: 0, maxRequestWaiters: 0, ... }
  // written: two checkpoints of three rows, e.g. { topic: "tents", review: "Sturdy and dry…", verdict: "positive" }
  return { result, written }
}).pipe(Effect.scoped)

const { result, written } = await Effect.runPromise(program)
console.log(JSON.stringify(
  {
    rowsCompleted: result.rowsCompleted,
    rowsDropped: result.rowsDropped,
    maxRequestWaiters: result.maxRequestWaiters,
    checkpoints: written.map((checkpoint) => checkpoint.rows)
  },
  null,
  2
))
