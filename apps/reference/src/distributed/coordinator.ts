import { createHash } from "node:crypto"
import { Clock, Effect, FileSystem, Path, Random, Schema } from "effect"
import * as PersistedQueue from "effect/persistence/PersistedQueue"
import * as Redis from "effect/persistence/Redis"
import packageJson from "../../package.json" with { type: "json" }
import type { LoadedConfig } from "../config/loadConfig.js"
import { redactedConfig } from "../config/redactedConfig.js"
import { SluiceConfig } from "../config/schema.js"
import { writtenColumns } from "../config/checkReferences.js"
import { dataIdentityOf } from "../output/dataIdentity.js"
import { replaceFileDurably } from "../output/durable.js"
import { makeGroupWriter } from "../output/GroupWriter.js"
import { attemptFilePattern, dataDirectory, finalNameOf, rowGroupFilePattern, summaryFile } from "../output/layout.js"
import { ioError, OutputError } from "../output/OutputError.js"
import { openOutput, type OutputMode } from "../output/OutputDirectory.js"
import { emptyRequestCounts, emptyTokenTally, type RequestCounts } from "../pipeline/requestCounters.js"
import { buildSummary, type RunStop, type RunSummary } from "../pipeline/summary.js"
import { type TokenSummary, tokenSummaryOf, withTokenSummary } from "../pipeline/tokenSummary.js"
import { startLocalWorkers } from "./localWorkers.js"
import { whileReachable } from "./redisConnection.js"
import { formatPlainLine, type ProgressLine } from "../progress/ProgressReporter.js"
import { failedQueueKeyOf, queueNameOf, runKeysOf, runsKey } from "./runKeys.js"
import { decodeCommitRecord, decodeStopRecord, encodeRunSpec, GroupTask, type RunTimings } from "./RunSpec.js"

export interface CoordinatorOptions<BeforeRunError> {
  readonly configText: string
  readonly rows: number | undefined
  readonly out: string
  readonly mode: OutputMode
  /** `--redis`, as given: passed to local workers. */
  readonly redis: string
  /** Local worker processes to start (0: only workers that join with `sluice worker`). */
  readonly workers: number
  readonly timings: RunTimings
  /** The run stops (exit 4) when no row group was committed for this long while some remain. */
  readonly stallMillis: number
  /** The models' check: before anything in the output directory is created, replaced or removed. */
  readonly check?: Effect.Effect<void, BeforeRunError> | undefined
  readonly say: (line: string) => Effect.Effect<void>
  /**
   * A progress line (rows on disk, rows/s, ETA, row groups, live workers) at most this often, the first as soon as a
   * row group is committed; `undefined`: none.
   */
  readonly progressEveryMillis?: number | undefined
  readonly onInterrupted?:
    | ((summary: RunSummary & { readonly tokens: TokenSummary }) => Effect.Effect<void>)
    | undefined
}

const sha256 = (bytes: Uint8Array): string => createHash("sha256").update(bytes).digest("hex")

/** Run keys are kept a day after the run (for inspection), then Redis drops them. */
const keepKeysSeconds = String(24 * 3600)

/**
 * The coordinator of a distributed run (`sluice generate … --redis URL`). It owns the output directory exactly as
 * a single-process run does (lock, manifest, journal, drop list, metadata, summary; `--resume` verifies what is
 * on disk), stores the run's spec in Redis, offers every row group still to generate to the run's queue (id
 * `runId:group`, so offers are idempotent), starts the local workers, and journals each group as its commit record
 * arrives: it checks the winning attempt's file against the record's size and sha256, renames it into place, and
 * appends it to the journal. A worker that dies is reported; its claims lapse and its groups are delivered again.
 */
export const runCoordinator = Effect.fnUntraced(function*<BeforeRunError = never>(
  loaded: LoadedConfig,
  options: CoordinatorOptions<BeforeRunError>
) {
  const fs = yield* FileSystem.FileSystem
  const path = yield* Path.Path
  const redis = yield* Redis.Redis
  const reachable = whileReachable(options.redis)
  const { config } = loaded
  const run = config.run
  const out = path.resolve(options.out)
  const identity = dataIdentityOf(config, loaded.seed?.sha256)
  const output = yield* openOutput(out, {
    mode: options.mode,
    rowsRequested: run.rows,
    bufferSize: run.bufferSize,
    identity,
    configHash: loaded.hash,
    configFile: loaded.file,
    config: Schema.encodeSync(SluiceConfig)(redactedConfig(config)),
    createdBy: `sluice ${packageJson.version}`,
    columns: writtenColumns(loaded.columns),
    // A distributed run writes no event log.
    events: false
  }, options.check)
  const { state } = output
  const writer = yield* makeGroupWriter(out, state, {
    metadata: { configHash: loaded.hash, dataIdentity: identity.hash },
    format: run.format ?? "jsonl"
  })
  const started = yield* Clock.currentTimeNanos
  const pending = new Set(state.unpublishedGroups())
  const runId = `${identity.hash.slice(0, 8)}-${output.attempt}-${
    (yield* Random.nextIntBetween(0, 0xffffff)).toString(16).padStart(6, "0")
  }`
  const keys = runKeysOf(runId)
  const { timings } = options

  // 1. The run in Redis: spec, status and the coordinator's liveness key, then every group to generate.
  yield* reachable(Effect.gen(function*() {
    yield* redis.send(
      "SET",
      keys.spec,
      encodeRunSpec({
        runId,
        configFile: path.resolve(loaded.file),
        configText: options.configText,
        configHash: loaded.hash,
        ...(options.rows === undefined ? {} : { rows: options.rows }),
        out,
        timings
      })
    )
    yield* redis.send("SET", keys.status, "running")
    yield* redis.send("SET", keys.coordinator, String(process.pid), "PX", String(timings.leaseMillis))
    yield* redis.send("LPUSH", runsKey, runId)
    yield* redis.send("LTRIM", runsKey, "0", "99")
  }))
  // The coordinator's liveness: workers leave a run whose coordinator is gone.
  yield* reachable(redis.send("SET", keys.coordinator, String(process.pid), "PX", String(timings.leaseMillis))).pipe(
    Effect.delay(timings.heartbeatMillis),
    Effect.forever,
    Effect.ignore,
    Effect.forkScoped
  )
  const queue = yield* PersistedQueue.make({ name: queueNameOf(runId), schema: GroupTask })
  yield* reachable(Effect.forEach(
    [...pending],
    (group) => queue.offer({ group }, { id: `${runId}:${group}` }),
    { discard: true }
  ))
  yield* options.say(
    `run ${runId}: ${pending.size} row groups queued in ${options.redis}; ` +
      `more workers can join with: sluice worker --redis ${options.redis} --run ${runId}`
  )

  // 2. Local workers; their deaths are reported (their groups return to the queue once their claims lapse).
  const lines: Array<string> = []
  if (pending.size > 0 && options.workers > 0) {
    const workers = yield* startLocalWorkers({
      count: options.workers,
      redis: options.redis,
      runId,
      graceMillis: timings.heartbeatMillis * 2 + 1000,
      onExit: (worker, code, signal) => {
        if (code !== 0) {
          lines.push(
            `worker ${worker.index} (pid ${worker.pid}) exited with ${signal ?? `code ${code}`}; ` +
              `its row groups return to the queue within ${timings.leaseMillis / 1000} s`
          )
        }
      }
    })
    for (const worker of workers) yield* options.say(`started worker ${worker.index} (pid ${worker.pid})`)
  }

  const verify = Effect.fnUntraced(function*(source: string, bytes: number, hash: string) {
    const content = yield* fs.readFile(source).pipe(Effect.mapError(ioError(source)))
    if (content.byteLength !== bytes || sha256(content) !== hash) {
      return yield* new OutputError({
        path: source,
        problem: `does not hold what its worker committed (${content.byteLength} of ${bytes} bytes, or another ` +
          "sha256); is the output directory shared consistently between machines? Continue with --resume"
      })
    }
  })

  // 3. Commits as they arrive, until every group is journaled or the run stops.
  const seenWorkers = new Map<string, boolean>()
  let cursor = 0
  let lastProgress = yield* Clock.currentTimeMillis
  let stop: RunStop | undefined

  // Progress as the single-process run's plain lines show it; rows an earlier attempt wrote do not count toward the
  // rate. Rows are counted from the commit records, as they are journaled.
  const groupsTotal = state.groupCount
  const startedMillis = lastProgress
  const rowsBefore = state.rowsOnDisk + state.rowsDropped
  let rowsDone = rowsBefore
  let lastLine = Number.NEGATIVE_INFINITY
  let linePending = false
  const progressLine = Effect.gen(function*() {
    const every = options.progressEveryMillis
    if (every === undefined || !linePending) return
    const now = yield* Clock.currentTimeMillis
    if (now - lastLine < every) return
    lastLine = now
    linePending = false
    const elapsed = (now - startedMillis) / 1000
    const rate = elapsed > 0 ? (rowsDone - rowsBefore) / elapsed : 0
    const line: ProgressLine = {
      done: rowsDone,
      total: run.rows,
      dropped: state.rowsDropped,
      rate,
      eta: rate > 0 ? (run.rows - rowsDone) / rate : Number.POSITIVE_INFINITY,
      loads: "",
      waiting: ""
    }
    const alive = [...seenWorkers.values()].filter(Boolean).length
    yield* options.say(
      `${formatPlainLine(line, elapsed)} · row groups ${groupsTotal - pending.size}/${groupsTotal} · ` +
        `${alive} worker${alive === 1 ? "" : "s"} alive`
    )
  })

  const poll = Effect.gen(function*() {
    const records = yield* reachable(redis.send<Array<string>>("LRANGE", keys.commits, String(cursor), "-1"))
    cursor += records.length
    for (const text of records) {
      const record = decodeCommitRecord(text)
      if (record._tag === "None" || !pending.has(record.value.entry.group)) continue
      const { attemptFile, entry, drops } = record.value
      const source = path.join(out, dataDirectory, attemptFile)
      yield* verify(source, entry.bytes, entry.sha256)
      yield* writer.publishWritten({ source, entry, drops })
      pending.delete(entry.group)
      rowsDone += entry.rows + drops.length
      linePending = true
      lastProgress = yield* Clock.currentTimeMillis
    }
    for (const line of lines.splice(0)) yield* options.say(line)
    if (pending.size === 0) return true
    const stopText = yield* reachable(redis.send<string | null>("GET", keys.stop))
    if (stopText !== null) {
      const record = decodeStopRecord(stopText)
      stop = record._tag === "Some"
        ? {
          reason: record.value.reason,
          ...(record.value.kind === undefined ? {} : { kind: record.value.kind }),
          message: record.value.message
        }
        : { reason: "stopped", message: "a worker stopped the run" }
      return true
    }
    const failed = yield* reachable(redis.send<number>("LLEN", failedQueueKeyOf(runId)))
    if (failed > 0) {
      stop = {
        reason: "delivery_limit",
        message: `${failed} row group(s) were delivered ${timings.maxDeliveries} times without being committed ` +
          "(see the workers' messages)"
      }
      return true
    }
    const workerIds = yield* reachable(redis.send<Array<string>>("SMEMBERS", keys.workers))
    for (const id of workerIds) {
      const alive = (yield* reachable(redis.send<number>("EXISTS", keys.worker(id)))) === 1
      if (seenWorkers.get(id) === true && !alive) {
        yield* options.say(`worker ${id} stopped answering; its row groups return to the queue`)
      }
      seenWorkers.set(id, alive)
    }
    const now = yield* Clock.currentTimeMillis
    if (now - lastProgress > options.stallMillis) {
      stop = {
        reason: "stalled",
        message: `no row group was committed for ${Math.round(options.stallMillis / 1000)} s ` +
          `(${[...seenWorkers.values()].filter(Boolean).length} workers alive); start workers with: ` +
          `sluice worker --redis ${options.redis} --run ${runId}`
      }
      return true
    }
    return false
  })

  const usage = Effect.gen(function*() {
    // node-redis answers HGETALL with an object (RESP3 style) or a flat array (RESP2): both are read.
    const reply = yield* reachable(redis.send<Array<string> | Record<string, string>>("HGETALL", keys.usage))
    const values = Array.isArray(reply) ? reply.filter((_, i) => i % 2 === 1) : Object.values(reply)
    const requests = emptyRequestCounts()
    const tokens = emptyTokenTally()
    for (const value of values) {
      const parsed = (yield* Effect.try(() => JSON.parse(value))) as {
        readonly requests: Partial<RequestCounts>
        readonly tokens: Record<string, { promptTokens: number; completionTokens: number; answersWithoutUsage: number }>
      }
      for (const key of Object.keys(requests) as Array<keyof RequestCounts>) requests[key] += parsed.requests[key] ?? 0
      for (const [alias, counts] of Object.entries(parsed.tokens)) {
        const total = tokens.get(alias) ?? { promptTokens: 0, completionTokens: 0, answersWithoutUsage: 0 }
        total.promptTokens += counts.promptTokens
        total.completionTokens += counts.completionTokens
        total.answersWithoutUsage += counts.answersWithoutUsage
        tokens.set(alias, total)
      }
    }
    return { requests, tokens }
  })

  const summarize = Effect.fnUntraced(function*(interrupted: boolean) {
    const { requests, tokens } = yield* usage.pipe(
      Effect.orElseSucceed(() => ({ requests: emptyRequestCounts(), tokens: emptyTokenTally() }))
    )
    const summary = withTokenSummary(
      buildSummary({
        state,
        attempt: output.attempt,
        interrupted,
        stop,
        elapsedSeconds: Number((yield* Clock.currentTimeNanos) - started) / 1e9,
        requests,
        maxRequestWaiters: 0,
        leaks: { taskLeases: 0, requestLeases: 0, requestWaiters: 0 },
        mockStats: []
      }),
      tokenSummaryOf(tokens, config.models)
    )
    yield* replaceFileDurably(fs, out, path.join(out, summaryFile), JSON.stringify(summary, null, 2) + "\n")
    return summary
  })

  // Attempt files left behind (workers killed after writing, duplicates): never a group's data once the run ends.
  const removeAttempts = Effect.gen(function*() {
    const dataDir = path.join(out, dataDirectory)
    const names = yield* fs.readDirectory(dataDir).pipe(Effect.orElseSucceed((): ReadonlyArray<string> => []))
    for (const name of names) {
      if (attemptFilePattern.test(name) && rowGroupFilePattern.test(finalNameOf(name))) {
        yield* fs.remove(path.join(dataDir, name)).pipe(Effect.ignore)
      }
    }
  })

  const end = (status: string) =>
    Effect.gen(function*() {
      yield* redis.send("SET", keys.status, status)
      yield* redis.send("DEL", keys.coordinator)
      let scan = "0"
      do {
        const [next, batch] = yield* redis.send<[string, Array<string>]>(
          "SCAN",
          scan,
          "MATCH",
          `sluice:*${runId}*`,
          "COUNT",
          "1000"
        )
        scan = next
        for (const key of batch) yield* redis.send("EXPIRE", key, keepKeysSeconds)
      } while (scan !== "0")
    }).pipe(reachable, Effect.ignore)

  const onInterrupt = Effect.gen(function*() {
    yield* end("stopped")
    yield* writer.drain
    yield* writer.finish
    const summary = yield* summarize(true)
    if (options.onInterrupted !== undefined) yield* options.onInterrupted(summary)
  }).pipe(Effect.ignore)

  return yield* Effect.gen(function*() {
    if (pending.size > 0) {
      for (;;) {
        if (yield* poll) break
        yield* progressLine
        yield* Effect.sleep(timings.pollMillis)
      }
    }
    yield* end(stop === undefined ? "done" : "stopped")
    yield* writer.drain
    yield* writer.finish
    yield* removeAttempts
    return { summary: yield* summarize(false), runId }
  }).pipe(
    Effect.onInterrupt(() => onInterrupt),
    Effect.tapError(() => Effect.andThen(end("stopped"), Effect.ignore(writer.drain)))
  )
})
