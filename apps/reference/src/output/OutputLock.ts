import { hostname } from "node:os"
import { Clock, Console, Effect, FileSystem, Option, Path, Schema, type Scope } from "effect"
import { lockFile } from "./layout.js"
import { OutputError } from "./OutputError.js"

// One run at a time per output directory. The lock file is created with O_EXCL (`wx`), so of two runs starting
// together exactly one gets it; it names its holder so the other can say who. A lock left by a run that was
// killed (same host, its pid no longer alive, or alive but another process since its start time differs) is stale:
// the next run says so and takes it over.

export const LockHolder = Schema.Struct({
  pid: Schema.Int,
  host: Schema.String,
  startedAt: Schema.String,
  /** The kernel's start time of the holding process, where it can be read (Linux): tells a reused pid apart. */
  processStart: Schema.optional(Schema.String)
})
export type LockHolder = typeof LockHolder.Type

const decodeHolder = Schema.decodeUnknownOption(Schema.fromJsonString(LockHolder))

/** Whether a process with this pid exists on this host (`kill(pid, 0)`: EPERM means it exists as another user). */
const isAlive = (pid: number): Effect.Effect<boolean> =>
  Effect.try({
    try: () => process.kill(pid, 0),
    catch: (error) => error
  }).pipe(
    Effect.catch((error) => Effect.succeed((error as { readonly code?: unknown }).code === "EPERM"))
  )

/**
 * The start time the kernel gives process `pid` (Linux: field 22 of `/proc/<pid>/stat`, in clock ticks since boot),
 * or undefined where it cannot be read. The same pid with another start time is another process.
 */
const processStartOf = (pid: number) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const stat = yield* fs.readFileString(`/proc/${pid}/stat`).pipe(Effect.option)
    if (Option.isNone(stat)) return undefined
    // The command name (field 2) is in parentheses and may hold spaces: count fields after its closing one.
    const fields = stat.value.slice(stat.value.lastIndexOf(")") + 2).split(" ")
    return fields[19]
  })

/** Whether the lock's holder is still running: the pid is alive and, where it can be told, is the same process. */
const holderRunning = (holder: LockHolder) =>
  Effect.gen(function*() {
    if (!(yield* isAlive(holder.pid))) return false
    if (holder.processStart === undefined) return true
    const start = yield* processStartOf(holder.pid)
    return start === undefined || start === holder.processStart
  })

const describe = (holder: LockHolder): string => `pid ${holder.pid} on host ${holder.host}, started ${holder.startedAt}`

/**
 * The run that holds the directory's lock now, if any: a readable lock whose holder is alive (or on another host,
 * where that cannot be told). A lock left by a killed run on this host is no holder.
 */
export const currentLockHolder = Effect.fnUntraced(function*(directory: string) {
  const fs = yield* FileSystem.FileSystem
  const path = yield* Path.Path
  const text = yield* fs.readFileString(path.join(directory, lockFile)).pipe(Effect.option)
  if (Option.isNone(text)) return Option.none<string>()
  const holder = decodeHolder(text.value.trim())
  if (Option.isNone(holder)) return Option.some("a sluice run (its lock file is unreadable)")
  const alive = holder.value.host !== hostname() || (yield* holderRunning(holder.value))
  return alive ? Option.some(`a sluice run (${describe(holder.value)})`) : Option.none<string>()
})

/**
 * Takes the output directory's lock for the life of the scope; the scope's close (success, failure or
 * interruption) removes it — but only while it is still this run's lock.
 */
export const acquireOutputLock = Effect.fnUntraced(function*(directory: string) {
  const fs = yield* FileSystem.FileSystem
  const path = yield* Path.Path
  const file = path.join(directory, lockFile)
  const millis = yield* Clock.currentTimeMillis
  const processStart = yield* processStartOf(process.pid)
  const me: LockHolder = {
    pid: process.pid,
    host: hostname(),
    startedAt: new Date(millis).toISOString(),
    ...(processStart === undefined ? {} : { processStart })
  }
  const text = JSON.stringify(me) + "\n"

  const tryCreate = fs.writeFileString(file, text, { flag: "wx" }).pipe(
    Effect.as(true),
    Effect.catchIf(
      (error) => error.reason._tag === "AlreadyExists",
      () => Effect.succeed(false)
    ),
    Effect.mapError((error) => new OutputError({ path: file, problem: `cannot create the lock: ${error.message}` }))
  )

  const held = (problem: string) =>
    new OutputError({
      path: directory,
      problem: `${problem}; wait for that run to finish, or use another --out. If no sluice run uses this directory, ` +
        `remove ${file} and try again`
    })

  let created = yield* tryCreate
  if (!created) {
    const current = yield* fs.readFileString(file).pipe(Effect.orElseSucceed(() => ""))
    const holder = decodeHolder(current.trim())
    if (Option.isNone(holder)) {
      return yield* held("is locked by another sluice run (its lock file is unreadable)")
    }
    const previous = holder.value
    if (previous.host !== me.host || (yield* holderRunning(previous))) {
      return yield* held(`is in use by another sluice run (${describe(previous)})`)
    }
    yield* Console.error(
      `sluice: ${file} was left by a run that is no longer running (${describe(previous)}); taking it over`
    )
    yield* fs.remove(file).pipe(Effect.ignore)
    created = yield* tryCreate
    if (!created) return yield* held("was locked by another sluice run while this one took over a stale lock")
  }

  yield* Effect.addFinalizer(() =>
    fs.readFileString(file).pipe(
      Effect.flatMap((current) => (current === text ? fs.remove(file) : Effect.void)),
      Effect.ignore
    )
  )
  return me
}) satisfies (directory: string) => Effect.Effect<
  LockHolder,
  OutputError,
  FileSystem.FileSystem | Path.Path | Scope.Scope
>
