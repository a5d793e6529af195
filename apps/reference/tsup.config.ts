import { defineConfig } from "tsup"

// Two entries: the `sluice` bin, and `@sluice/reference/pipeline` (with its `.d.ts`) for the benchmark harness.
export default defineConfig({
  entry: { cli: "src/cli.ts", pipeline: "src/api/pipeline.ts" },
  format: "esm",
  dts: { entry: { pipeline: "src/api/pipeline.ts" } },
  clean: true,
  sourcemap: true,
  target: "node22"
})
