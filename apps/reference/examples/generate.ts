// Generate a dataset from code, on the embedded mock provider (no API key, no network), with progress events.
import { readFileSync } from "node:fs"
import { generatePromise } from "@sluice/reference"

// The same object a YAML config file parses to (a path to such a file works too).
const config = {
  providers: [{ name: "local", type: "mock", mock: { capacity: 16, latencyMs: { min: 10, max: 30 }, seed: 7 } }],
  models: [{ alias: "writer", provider: "local", model: "mock-writer", maxParallelRequests: 16 }],
  columns: [
    { name: "product", type: "category", values: ["hiking boots", "camping tent", "headlamp"] },
    { name: "review", type: "llm-text", model: "writer", prompt: "Write a short review of a {{ product }}." }
  ],
  run: { rows: 40, bufferSize: 10 }
}

const summary = await generatePromise(config, {
  out: "out/example-reviews",
  mode: "overwrite", // replace what an earlier run of this example wrote there
  onEvent: (event) => {
    if (event._tag === "run_started") console.log(`generating ${event.rowsRequested} rows into ${event.out}/`)
    if (event._tag === "progress") console.error(`${Math.floor(event.rowsDone)}/${event.rowsTotal} rows`)
  }
})

console.log(`${summary.status}: ${summary.rowsCompleted}/${summary.rowsRequested} rows on disk`)
const [first] = readFileSync("out/example-reviews/data/row-group-00000.jsonl", "utf8").split("\n")
console.log(Object.keys(JSON.parse(first ?? "{}")))
