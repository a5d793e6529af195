// `pnpm sluice <args>`: builds the CLI and what it depends on (turbo, cached), quietly unless the build fails,
// then runs it with the caller's arguments, stdin, stdout and stderr, and exits with its exit code.
//
// pnpm runs this script from the repository root; the CLI runs in the directory the user ran pnpm from (pnpm's
// INIT_CWD), so the paths they type (config, --out) mean what they would for any other command.
// `--from-repo-root` (used by `pnpm start`) runs it from the repository root instead: its paths are the repo's.
import { spawnSync } from "node:child_process"
import { fileURLToPath } from "node:url"

const repoRoot = fileURLToPath(new URL("..", import.meta.url))
const fromRepoRoot = process.argv[2] === "--from-repo-root"
const args = process.argv.slice(fromRepoRoot ? 3 : 2)
const cwd = fromRepoRoot ? repoRoot : (process.env.INIT_CWD ?? process.cwd())

const build = spawnSync(
  "pnpm",
  ["exec", "turbo", "run", "build", "--filter=@sluice/reference...", "--output-logs=errors-only"],
  { cwd: repoRoot, encoding: "utf8", env: { ...process.env, TURBO_TELEMETRY_DISABLED: "1" } }
)
if (build.status !== 0) {
  process.stderr.write(build.stdout ?? "")
  process.stderr.write(build.stderr ?? "")
  process.stderr.write("sluice: the build failed (see above)\n")
  process.exit(build.status ?? 1)
}
// Ctrl-C reaches the CLI too (same process group); let it finish its graceful shutdown and report its own exit.
for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => {})
const cli = spawnSync(process.execPath, [
  fileURLToPath(new URL("../apps/reference/dist/cli.js", import.meta.url)),
  ...args
], {
  cwd,
  stdio: "inherit"
})
if (cli.signal) process.kill(process.pid, cli.signal)
process.exit(cli.status ?? 1)
