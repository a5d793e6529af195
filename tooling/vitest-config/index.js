// The one vitest preset every package uses: same include globs, same timeouts, and a JSON report
// per package that `scripts/test-summary.mjs` adds up into the workspace's closing line.
import { defineConfig, mergeConfig } from "vitest/config"

/** @param {import("vitest/config").UserConfig} [overrides] */
export const sluiceVitestConfig = (overrides = {}) =>
  mergeConfig(
    defineConfig({
      test: {
        include: ["test/**/*.test.ts"],
        testTimeout: 30_000,
        hookTimeout: 30_000,
        reporters: ["default", ["json", { outputFile: ".vitest-reports/results.json" }]],
        sequence: { hooks: "stack" }
      }
    }),
    overrides
  )
