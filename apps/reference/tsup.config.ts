import { defineConfig } from "tsup"

// The `sluice` bin, the programmatic API (`@sluice/reference`) and `@sluice/reference/pipeline` (the benchmark
// harness's entry). Entries keep their `src/` paths so each `.js` sits beside the `.d.ts` (and declaration map)
// that `tsc -p tsconfig.build.json` emits after this build.
export default defineConfig({
  entry: { cli: "src/cli.ts", "api/index": "src/api/index.ts", "api/pipeline": "src/api/pipeline.ts" },
  format: "esm",
  clean: true,
  sourcemap: true,
  target: "node22"
})
