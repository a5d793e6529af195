import { Effect, FileSystem, Path } from "effect"
import * as Redis from "effect/persistence/Redis"
import { syncDirectory } from "../output/durable.js"
import type { EncodedGroup } from "../output/groupFile.js"
import { attemptFileOf, dataDirectory } from "../output/layout.js"
import { ioError } from "../output/OutputError.js"
import type { RunKeys } from "./runKeys.js"
import { encodeCommitRecord } from "./RunSpec.js"

/**
 * First writer wins: sets the group's marker only if no attempt set it before, and in the same atomic step
 * appends the commit record for the coordinator. 1 when this attempt owns the group, 0 when another one does.
 */
const commitScript = Redis.script(
  (marker: string, commits: string, record: string) => [marker, commits, record],
  {
    lua: `
if redis.call("SET", KEYS[1], ARGV[1], "NX") then
  redis.call("RPUSH", KEYS[2], ARGV[1])
  return 1
end
return 0
`,
    numberOfKeys: 2
  }
).withReturnType<number>()

export type CommitResult = "committed" | "discarded"

/** Whether some attempt already committed `group` (a redelivered group is then not generated again). */
export const isCommitted = (keys: RunKeys, group: number) =>
  Redis.Redis.use((redis) => redis.send<number>("EXISTS", keys.marker(group))).pipe(Effect.map((n) => n === 1))

/**
 * Commits one attempt of a row group. The attempt's file is written and fsynced (with its directory entry) under
 * a name of its own, `data/<group file>.attempt-<token>`, before it claims the group, so a claimed group's file is
 * always on disk. The claim is the marker script; the loser deletes its own file — nothing else — and the
 * coordinator renames the winner's file into place and journals it.
 */
export const commitGroup = Effect.fnUntraced(function*(options: {
  readonly out: string
  readonly keys: RunKeys
  readonly token: string
  readonly encoded: EncodedGroup
}) {
  const fs = yield* FileSystem.FileSystem
  const path = yield* Path.Path
  const redis = yield* Redis.Redis
  const { encoded } = options
  const dataDir = path.join(options.out, dataDirectory)
  const attempt = attemptFileOf(path.join(options.out, encoded.entry.file), options.token)
  yield* Effect.scoped(Effect.gen(function*() {
    const file = yield* fs.open(attempt, { flag: "wx" })
    yield* file.writeAll(encoded.bytes)
    yield* file.sync
  })).pipe(Effect.mapError(ioError(attempt)))
  yield* syncDirectory(fs, dataDir)
  const record = encodeCommitRecord({ attemptFile: path.basename(attempt), entry: encoded.entry, drops: encoded.drops })
  const won = yield* redis.eval(commitScript)(options.keys.marker(encoded.entry.group), options.keys.commits, record)
  if (won === 1) return "committed" as CommitResult
  yield* fs.remove(attempt).pipe(Effect.mapError(ioError(attempt)))
  return "discarded" as CommitResult
})
