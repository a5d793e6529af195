// `pnpm sluice <args>`: builds the CLI and what it depends on (turbo, cached), quietly unless the build fails,
// then runs it with the caller's arguments, stdin, stdout and stderr, and exits with its exit code.
import { spawnSync } from "node:child_process"

const build = spawnSync(
  "pnpm",
  ["exec", "turbo", "run", "build", "--filter=@sluice/reference...", "--output-logs=errors-only"],
  { encoding: "utf8", env: { ...process.env, TURBO_TELEMETRY_DISABLED: "1" } }
)
if (build.status !== 0) {
  process.stderr.write(build.stdout ?? "")
  process.stderr.write(build.stderr ?? "")
  process.stderr.write("sluice: the build failed (see above)\n")
  process.exit(build.status ?? 1)
}
// Ctrl-C reaches the CLI too (same process group); let it finish its graceful shutdown and report its own exit.
for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => {})
const cli = spawnSync(process.execPath, ["apps/reference/dist/cli.js", ...process.argv.slice(2)], { stdio: "inherit" })
if (cli.signal) process.kill(process.pid, cli.signal)
process.exit(cli.status ?? 1)
