#!/usr/bin/env node
// The entry point checks the Node version before anything else loads: the HTTP stack needs Node 22, and on an
// older Node it would fail with an unreadable stack trace instead of this one line.
const [major] = process.versions.node.split(".").map(Number)
if ((major ?? 0) < 22) {
  process.stderr.write(
    `sluice: Node ${process.versions.node} is too old; sluice needs Node 22 or newer. ` +
      "In this repository, run it through pnpm (`pnpm sluice …`), which uses the pinned Node 22.\n"
  )
  process.exit(2)
}
// Row groups are published with an fsync each, on libuv's thread pool; 16 threads (Node's default is 4) let that
// many fsyncs share one file-system commit. Set before anything uses the pool; a user's own setting wins.
process.env["UV_THREADPOOL_SIZE"] ??= "16"
// A closed terminal or pipe (EPIPE, EIO) must not kill a run in the middle of a write: what it prints is lost, the
// run goes on and ends as it would have.
for (const stream of [process.stdout, process.stderr]) stream.on("error", () => undefined)
// A signal while the CLI is still loading (a fraction of a second, before anything started) ends it as one later
// would: 130. Once `main` runs, its own handlers take over.
const signals = ["SIGINT", "SIGTERM", "SIGHUP"] as const
const beforeStart = () => process.exit(130)
for (const signal of signals) process.on(signal, beforeStart)
await import("./main.js")
for (const signal of signals) process.off(signal, beforeStart)
