// `pnpm bench <scenario> [flags]`: builds the benchmark harness and what it depends on (turbo, cached), quietly
// unless the build fails, then runs it with the caller's arguments; stdout carries only the harness's output, so
// with `--json` the JSON object is the last line. (`pnpm --filter @sluice/request-admission bench` is that
// package's own microbenchmark.)
import { spawnSync } from "node:child_process"

const build = spawnSync(
  "pnpm",
  ["exec", "turbo", "run", "build", "--filter=@sluice/bench...", "--output-logs=errors-only"],
  { encoding: "utf8", env: { ...process.env, TURBO_TELEMETRY_DISABLED: "1" } }
)
if (build.status !== 0) {
  process.stderr.write(build.stdout ?? "")
  process.stderr.write(build.stderr ?? "")
  process.stderr.write("bench: the build failed (see above)\n")
  process.exit(build.status ?? 1)
}
// Ctrl-C reaches the harness too (same process group); let it stop its mock children and report its own exit.
for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => {})
const bench = spawnSync(process.execPath, ["apps/bench/dist/bin.js", ...process.argv.slice(2)], { stdio: "inherit" })
if (bench.signal) process.kill(process.pid, bench.signal)
process.exit(bench.status ?? 1)
