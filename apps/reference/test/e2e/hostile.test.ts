import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { closedPort, type HostileMode, startHostileServer } from "../support/hostileServer.js"
import { type CliOptions, type CliRun, runCli, tempDir } from "./runCli.js"

// `sluice generate` against hostile OpenAI-compatible endpoints, through the real CLI process. Each scenario
// prints what it measured (elapsed time, attempts, completion rate, peak RSS) on stderr, for the record.

const apiKey = "sk-test-hostile-0123456789abcdef"
const peakRssProbe = fileURLToPath(new URL("../support/reportPeakRss.mjs", import.meta.url))

interface Scenario {
  readonly baseUrl: string
  readonly rows: number
  /** Chained llm-text columns on the hostile provider. */
  readonly llmColumns?: number
  readonly maxParallelRequests?: number
  readonly provider?: Record<string, unknown>
  readonly run?: Record<string, unknown>
}

const configOf = (scenario: Scenario) => ({
  providers: [{
    name: "hostile",
    type: "openai-compatible",
    baseUrl: scenario.baseUrl,
    apiKeyEnv: "SLUICE_HOSTILE_KEY",
    timeoutSeconds: 10,
    ...scenario.provider
  }],
  models: [{
    alias: "writer",
    provider: "hostile",
    model: "hostile-model",
    maxParallelRequests: scenario.maxParallelRequests ?? 8
  }],
  columns: [
    { name: "topic", type: "category", values: ["shoes", "tents", "lamps"] },
    ...Array.from({ length: scenario.llmColumns ?? 1 }, (_, i) => ({
      name: `text${i}`,
      type: "llm-text",
      model: "writer",
      prompt: i === 0 ? "Write about {{ topic }}." : `Go on from: {{ text${i - 1} }}`
    }))
  ],
  run: { rows: scenario.rows, bufferSize: 64, ...scenario.run }
})

interface Generated {
  readonly run: CliRun
  readonly out: string
  readonly elapsedMs: number
  /** summary.json as written (undefined when the run wrote none, e.g. killed). */
  readonly summary: any
}

const generate = (scenario: Scenario, args: ReadonlyArray<string> = [], options: CliOptions = {}) =>
  Effect.gen(function*() {
    const dir = yield* tempDir
    const config = join(dir, "hostile.json")
    writeFileSync(config, JSON.stringify(configOf(scenario), null, 2))
    const out = join(dir, "out")
    const started = performance.now()
    // `--no-check`: these runs are about what generation does with a provider that misbehaves; the check before a
    // run would stop most of them first (it has its own tests).
    const run = yield* runCli(["generate", config, "--out", out, "--no-check", ...args], {
      timeoutMs: 120_000,
      ...options,
      env: { SLUICE_HOSTILE_KEY: apiKey, ...options.env }
    })
    const elapsedMs = performance.now() - started
    const summaryFile = join(out, "summary.json")
    const summary = existsSync(summaryFile) ? JSON.parse(readFileSync(summaryFile, "utf8")) : undefined
    return { run, out, elapsedMs, summary } satisfies Generated
  })

const rowsOnDisk = (out: string): number => {
  const data = join(out, "data")
  if (!existsSync(data)) return 0
  return readdirSync(data)
    .filter((file) => file.endsWith(".jsonl"))
    .reduce((n, file) => n + readFileSync(join(data, file), "utf8").split("\n").filter((l) => l !== "").length, 0)
}

const sumOf = (counts: Record<string, number>) => Object.values(counts).reduce((a, b) => a + b, 0)

/** `dropMessages` and `dropped.jsonl`, when the output helper's summary writes them, must carry `text`. */
const assertDropMessagesCarry = (generated: Generated, text: string) => {
  if (generated.summary?.dropMessages !== undefined) {
    assert.include(JSON.stringify(generated.summary.dropMessages), text)
  }
  const dropped = join(generated.out, "dropped.jsonl")
  if (existsSync(dropped)) assert.include(readFileSync(dropped, "utf8"), text)
}

const assertNoKey = (generated: Generated) => {
  for (const text of [generated.run.stdout, generated.run.stderr, JSON.stringify(generated.summary ?? {})]) {
    assert.notInclude(text, apiKey)
    assert.notInclude(text, "0123456789abcdef")
  }
}

const record = (scenario: string, facts: Record<string, unknown>) =>
  Effect.sync(() => process.stderr.write(`[hostile] ${scenario}: ${JSON.stringify(facts)}\n`))

/** The HH:MM:SS a progress line names is within `seconds` of now (on the same clock, any day boundary). */
const assertClockTimeNear = (hhmmss: string, expectedMillis: number, seconds: number) => {
  const [h, m, s] = hhmmss.split(":").map(Number)
  const expected = new Date(expectedMillis)
  const shown = h! * 3600 + m! * 60 + s!
  const wanted = expected.getHours() * 3600 + expected.getMinutes() * 60 + expected.getSeconds()
  const gap = Math.min(Math.abs(shown - wanted), 86_400 - Math.abs(shown - wanted))
  assert.isAtMost(gap, seconds, `${hhmmss} vs ${expected.toTimeString().slice(0, 8)}`)
}

const mode = <M extends HostileMode>(m: M): M => m

describe("sluice generate against hostile endpoints (end to end, through the CLI process)", () => {
  it.live(
    "a closed port: the provider is declared down in seconds, with the OS's words, after a few attempts",
    () =>
      Effect.gen(function*() {
        const port = yield* closedPort
        const generated = yield* generate(
          { baseUrl: `http://127.0.0.1:${port}/v1`, rows: 64 },
          ["--json", "--progress", "lines"]
        )
        const { summary, run } = generated
        yield* record("closed port, 64 rows", {
          elapsedMs: Math.round(generated.elapsedMs),
          elapsedSeconds: summary.elapsedSeconds,
          requests: summary.requests,
          dropCauses: summary.dropCauses
        })
        // Was: 230 s and 768 attempts before every row was dropped as api_connection.
        assert.isBelow(generated.elapsedMs, 20_000)
        assert.isBelow(summary.elapsedSeconds, 10)
        assert.isAtMost(summary.requests.attempts, 16)
        assert.strictEqual(summary.requests.succeeded, 0)
        assert.strictEqual(summary.rowsDropped, 64)
        assert.strictEqual(sumOf(summary.dropCauses), 64)
        assert.isAtLeast(summary.dropCauses.provider_unreachable ?? 0, 1)
        // No row waits out its connection retries: every row goes with the provider (or the run's early stop).
        for (const kind of Object.keys(summary.dropCauses)) {
          assert.include(["provider_unreachable", "early_shutdown"], kind)
        }
        assert.include(run.stderr, `provider 'hostile' is down: connect ECONNREFUSED 127.0.0.1:${port}`)
        assert.include(run.stderr, `provider hostile unreachable: connect ECONNREFUSED 127.0.0.1:${port}`)
        assertDropMessagesCarry(generated, `ECONNREFUSED 127.0.0.1:${port}`)
        assert.deepStrictEqual(summary.leaks, { taskLeases: 0, requestLeases: 0, requestWaiters: 0 })
      }),
    60_000
  )

  it.live(
    "a 401: the provider is down at once, its message shown (key redacted), no more requests sent",
    () =>
      Effect.gen(function*() {
        const server = yield* startHostileServer(mode({
          _tag: "unauthorized",
          // A careless proxy echoing the key it was given.
          message: `Incorrect API key provided: ${apiKey}. You can find your API key at https://example.com/keys.`
        }))
        const generated = yield* generate({ baseUrl: server.baseUrl, rows: 64 }, ["--json", "--progress", "lines"])
        const { summary, run } = generated
        yield* record("401, 64 rows", {
          elapsedMs: Math.round(generated.elapsedMs),
          serverRequests: server.stats.requests,
          dropCauses: summary.dropCauses
        })
        assert.strictEqual(server.stats.authorizations[0], `Bearer ${apiKey}`)
        // Only the first wave reached the server: after the first 401, nothing more was sent.
        assert.isAtMost(server.stats.requests, 8)
        assert.strictEqual(summary.rowsCompleted, 0)
        assert.strictEqual(sumOf(summary.dropCauses), 64)
        assert.isAtLeast(summary.dropCauses.authentication ?? 0, 1)
        assert.include(
          run.stderr,
          "provider 'hostile' rejected the API key: Incorrect API key provided: [redacted]."
        )
        assertDropMessagesCarry(generated, "Incorrect API key provided")
        assertNoKey(generated)
        // With --json, stdout is the summary and nothing else: the stop's warning went to stderr.
        assert.deepStrictEqual(run.stdout.trim().split("\n").map((line) => JSON.parse(line).status), ["stopped"])
      }),
    60_000
  )

  it.live(
    "only 503s: after withoutSuccessSeconds the provider is down and the run stops (exit 4), saying why",
    () =>
      Effect.gen(function*() {
        const server = yield* startHostileServer(mode({ _tag: "serverError", status: 503 }))
        const generated = yield* generate({
          baseUrl: server.baseUrl,
          rows: 64,
          provider: { unreachableAfter: { consecutiveFailures: 3, withoutSuccessSeconds: 2 } }
        }, ["--json", "--progress", "lines"])
        const { summary, run } = generated
        yield* record("503 only, 64 rows", {
          elapsedMs: Math.round(generated.elapsedMs),
          serverRequests: server.stats.requests,
          dropCauses: summary.dropCauses
        })
        assert.strictEqual(run.code, 4, run.stderr)
        assert.strictEqual(summary.status, "stopped")
        assert.strictEqual(summary.rowsCompleted, 0)
        assert.strictEqual(sumOf(summary.dropCauses), 64)
        assert.isAtLeast(summary.dropCauses.provider_unreachable ?? 0, 1)
        assert.include(run.stderr, "provider 'hostile' is down: it answered only errors for")
        assert.include(run.stderr, "503 Bad Gateway")
        // Once down, no request reaches the provider any more.
        assert.strictEqual(server.stats.requests, summary.requests.attempts)
      }),
    60_000
  )

  it.live(
    "empty and null message content are no answer: never written as a row; check and preview say so",
    () =>
      Effect.gen(function*() {
        const server = yield* startHostileServer(mode({ _tag: "noText" }))
        const scenario = {
          baseUrl: server.baseUrl,
          rows: 16,
          provider: { unreachableAfter: { consecutiveFailures: 3, withoutSuccessSeconds: 1 } }
        }
        const generated = yield* generate(scenario, ["--json"])
        assert.strictEqual(generated.run.code, 4, generated.run.stderr)
        assert.strictEqual(generated.summary.rowsCompleted, 0)
        assert.strictEqual(rowsOnDisk(generated.out), 0)
        assert.include(JSON.stringify(generated.summary.dropMessages), "the message has no text")
        const dir = yield* tempDir
        const config = join(dir, "hostile.json")
        writeFileSync(config, JSON.stringify(configOf(scenario), null, 2))
        const env = { env: { SLUICE_HOSTILE_KEY: apiKey } }
        const check = yield* runCli(["check", config], env)
        assert.strictEqual(check.code, 4, check.stderr)
        assert.include(check.stdout + check.stderr, "the message has no text (finish_reason: stop)")
        const preview = yield* runCli(["preview", config, "--rows", "2"], env)
        assert.strictEqual(preview.code, 4, preview.stderr)
        assert.include(preview.stdout, "0 of 2 rows")
      }),
    60_000
  )

  it.live(
    "30 % malformed 200s (not JSON, no choices, cut off): at least 95 % of rows complete",
    () =>
      Effect.gen(function*() {
        const server = yield* startHostileServer(mode({ _tag: "malformed", rate: 0.3, seed: 11 }))
        const generated = yield* generate(
          { baseUrl: server.baseUrl, rows: 128, llmColumns: 2, maxParallelRequests: 16 },
          ["--json"]
        )
        const { summary, run } = generated
        const completion = summary.rowsCompleted / 128
        yield* record("30 % malformed, 128 rows × 2 calls", {
          elapsedMs: Math.round(generated.elapsedMs),
          completion,
          requests: summary.requests,
          served: server.stats.requests,
          malformed: server.stats.malformed,
          dropCauses: summary.dropCauses
        })
        // Was: 108 of 128 rows dropped in 0.2 s (api_error, then early_shutdown).
        assert.isAtLeast(completion, 0.95)
        assert.isAbove(server.stats.malformed / server.stats.requests, 0.2)
        assert.strictEqual(summary.requests.malformedResponses, server.stats.malformed)
        assert.strictEqual(rowsOnDisk(generated.out), summary.rowsCompleted)
        assert.isUndefined(summary.dropCauses.early_shutdown)
        assert.strictEqual(run.code, summary.rowsDropped === 0 ? 0 : 3, run.stderr)
      }),
    90_000
  )

  it.live(
    "always 429 with a preserve deadline: rows are dropped as preserve_deadline_exceeded, with the message",
    () =>
      Effect.gen(function*() {
        const server = yield* startHostileServer(mode({ _tag: "rateLimited", retryAfter: "1" }))
        const generated = yield* generate(
          { baseUrl: server.baseUrl, rows: 2, run: { preserveDeadlineSeconds: 2 } },
          ["--json"]
        )
        const { summary, run } = generated
        yield* record("always 429, Retry-After 1, preserve deadline 2 s", {
          elapsedMs: Math.round(generated.elapsedMs),
          requests: summary.requests,
          dropCauses: summary.dropCauses
        })
        assert.deepStrictEqual(summary.dropCauses, { preserve_deadline_exceeded: 2 })
        assert.isBelow(generated.elapsedMs, 30_000)
        assert.isAbove(summary.requests.rateLimited, 0)
        assert.include(run.stdout + run.stderr, "rate_limit failures (preserve deadline 2000 ms")
        assertDropMessagesCarry(generated, "Rate limit reached for requests")
      }),
    60_000
  )

  it.live(
    "always 429 without Retry-After and no deadline: progress says why nothing moves (then Ctrl-C)",
    () =>
      Effect.gen(function*() {
        const server = yield* startHostileServer(mode({ _tag: "rateLimited" }))
        const generated = yield* generate(
          { baseUrl: server.baseUrl, rows: 8, run: { requestAdmission: { cooldownSeconds: 30 } } },
          ["--progress", "lines"],
          { killWhen: ({ stderr }) => stderr.includes("nothing moves"), killSignal: "SIGINT", timeoutMs: 30_000 }
        )
        const line = generated.run.stderr.split("\n").find((l) => l.includes("nothing moves")) ?? ""
        yield* record("always 429, no Retry-After, no deadline", { elapsedMs: Math.round(generated.elapsedMs), line })
        assert.match(
          line,
          /nothing moves: provider hostile cooling down until \d\d:\d\d:\d\d \(rate limited, no Retry-After\)/,
          generated.run.stderr
        )
        assert.match(line, /ETA --/)
        assert.isBelow(generated.elapsedMs, 20_000)
      }),
    60_000
  )

  it.live(
    "Retry-After: 99999999999 is capped at maxRetryAfterSeconds, and progress shows until when",
    () =>
      Effect.gen(function*() {
        const server = yield* startHostileServer(mode({ _tag: "rateLimited", retryAfter: "99999999999" }))
        const started = Date.now()
        const generated = yield* generate(
          {
            baseUrl: server.baseUrl,
            rows: 1,
            provider: { maxRetryAfterSeconds: 4 },
            run: { preserveDeadlineSeconds: 1 }
          },
          ["--json", "--progress", "lines"]
        )
        const { summary, run } = generated
        const line = run.stderr.split("\n").find((l) => l.includes("cooling down until")) ?? ""
        yield* record("Retry-After 99999999999, cap 4 s, preserve deadline 1 s", {
          elapsedMs: Math.round(generated.elapsedMs),
          requests: summary.requests,
          dropCauses: summary.dropCauses,
          line
        })
        // Closed for 4 s per 429, not 600 s (nor 3,000 years): the row is dropped after one capped wait.
        assert.isBelow(generated.elapsedMs, 30_000)
        assert.deepStrictEqual(summary.dropCauses, { preserve_deadline_exceeded: 1 })
        const until = /cooling down until (\d\d:\d\d:\d\d) \(Retry-After capped at 4 s\)/.exec(line)
        assert.isNotNull(until, run.stderr)
        assertClockTimeNear(until![1]!, started + 4_000, 8)
      }),
    60_000
  )

  it.live(
    "a 100 MB body: the attempt fails as response_too_large at the cap, read no further, memory stays bounded",
    () =>
      Effect.gen(function*() {
        const bodyBytes = 100 * 1024 * 1024
        const maxResponseBytes = 4 * 1024 * 1024
        const peakRssOf = (run: CliRun) => Number(/peak-rss-kb (\d+)/.exec(run.stderr)?.[1]) * 1024
        // The same run against a well-behaved server: the process's own footprint (runtime, code, buffers).
        const healthy = yield* startHostileServer(mode({ _tag: "healthy" }))
        const baseline = yield* generate(
          { baseUrl: healthy.baseUrl, rows: 4, maxParallelRequests: 2 },
          ["--json"],
          { nodeOptions: ["--import", peakRssProbe] }
        )
        const server = yield* startHostileServer(mode({ _tag: "hugeBody", bytes: bodyBytes, contentLength: false }))
        const generated = yield* generate(
          { baseUrl: server.baseUrl, rows: 4, maxParallelRequests: 2, provider: { maxResponseBytes } },
          ["--json"],
          { nodeOptions: ["--import", peakRssProbe] }
        )
        const { summary } = generated
        const peak = peakRssOf(generated.run)
        const base = peakRssOf(baseline.run)
        yield* record("100 MB bodies, 4 rows, 2 in flight, cap 4 MiB", {
          elapsedMs: Math.round(generated.elapsedMs),
          peakRssMb: Math.round(peak / 1024 / 1024),
          baselinePeakRssMb: Math.round(base / 1024 / 1024),
          serverRequests: server.stats.requests,
          maxMbSentPerAnswer: Math.round(server.stats.maxBytesSentPerAnswer / 1024 / 1024),
          requests: summary.requests,
          dropCauses: summary.dropCauses
        })
        assert.strictEqual(baseline.summary.rowsCompleted, 4)
        assert.deepStrictEqual(summary.dropCauses, { response_too_large: 4 })
        assert.strictEqual(summary.requests.oversizedResponses, summary.requests.attempts)
        // Read no further than the cap plus what socket buffers hold.
        assert.isBelow(server.stats.maxBytesSentPerAnswer, maxResponseBytes + 8 * 1024 * 1024)
        // Above the process's own footprint, at most the capped bodies in flight: well below one 100 MB body (read
        // whole and decoded, two at a time, they would add several hundred MB).
        assert.isAbove(base, 0)
        assert.isBelow(peak - base, bodyBytes / 2)
      }),
    90_000
  )
})

describe("exit codes of hostile runs (the contract of the output work: 3 drops, 4 stopped early, 130 interrupted)", () => {
  // These need the scheduler's stopOnKinds / earlyShutdown.ignoredKinds and the output work's exit codes.
  it.live("a closed port: every row dropped as provider_unreachable, exit 4", () =>
    Effect.gen(function*() {
      const port = yield* closedPort
      const generated = yield* generate({ baseUrl: `http://127.0.0.1:${port}/v1`, rows: 64 }, ["--json"])
      assert.deepStrictEqual(generated.summary.dropCauses, { provider_unreachable: 64 })
      assert.strictEqual(generated.run.code, 4, generated.run.stderr)
    }), 60_000)

  it.live(
    "a provider that accepts and never answers: declared down after the grace, the run stops, exit 4",
    () =>
      Effect.gen(function*() {
        const server = yield* startHostileServer(mode({ _tag: "silent" }))
        const rows = 200
        const generated = yield* generate({
          baseUrl: server.baseUrl,
          rows,
          maxParallelRequests: 4,
          provider: { timeoutSeconds: 0.5, unreachableAfter: { graceSeconds: 2 } }
        }, ["--json"])
        const { summary } = generated
        yield* record("a silent provider, 200 rows, 4 in flight, 0.5 s timeouts, 2 s grace", {
          elapsedMs: Math.round(generated.elapsedMs),
          requests: summary.requests,
          dropCauses: summary.dropCauses
        })
        assert.strictEqual(generated.run.code, 4, generated.run.stderr)
        assert.deepStrictEqual(summary.dropCauses, { provider_unreachable: rows })
        assert.include(generated.run.stderr, "attempts without an answer in a row for 2 s or more")
        // Without the breaker every row would take its 3 attempts of 0.5 s: 600 attempts, 75 s at 4 in flight.
        assert.isBelow(summary.requests.attempts, 60)
      }),
    60_000
  )

  it.live("a 401: the run stops, exit 4", () =>
    Effect.gen(function*() {
      const server = yield* startHostileServer(mode({ _tag: "unauthorized", message: "Incorrect API key provided." }))
      const generated = yield* generate({ baseUrl: server.baseUrl, rows: 64 }, ["--json"])
      assert.strictEqual(generated.run.code, 4, generated.run.stderr)
      if (generated.summary.status !== undefined) assert.notStrictEqual(generated.summary.status, "completed")
    }), 60_000)

  it.live("preserve deadline drops and oversized bodies finish with drops, exit 3", () =>
    Effect.gen(function*() {
      const limited = yield* startHostileServer(mode({ _tag: "rateLimited", retryAfter: "1" }))
      const deadline = yield* generate(
        { baseUrl: limited.baseUrl, rows: 2, run: { preserveDeadlineSeconds: 1 } },
        ["--json"]
      )
      // Every row dropped: nothing written, which the contract also calls "stopped early".
      assert.include([3, 4], deadline.run.code, deadline.run.stderr)
      const huge = yield* startHostileServer(mode({ _tag: "hugeBody", bytes: 32 * 1024 * 1024, contentLength: true }))
      const oversized = yield* generate({ baseUrl: huge.baseUrl, rows: 2 }, ["--json"])
      assert.include([3, 4], oversized.run.code, oversized.run.stderr)
    }), 60_000)

  it.live("Ctrl-C while a provider refuses everything: exit 130, interrupted", () =>
    Effect.gen(function*() {
      const server = yield* startHostileServer(mode({ _tag: "rateLimited" }))
      const generated = yield* generate(
        { baseUrl: server.baseUrl, rows: 8 },
        ["--progress", "lines"],
        { killWhen: ({ stderr }) => stderr.includes("nothing moves"), killSignal: "SIGINT", timeoutMs: 30_000 }
      )
      assert.strictEqual(generated.run.code, 130, generated.run.stderr)
      if (generated.summary?.status !== undefined) assert.strictEqual(generated.summary.status, "interrupted")
    }), 60_000)
})
