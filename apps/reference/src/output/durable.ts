import { Effect, FileSystem } from "effect"
import { ioError, type OutputError } from "./OutputError.js"
import { temporaryFileOf } from "./layout.js"

// Durable writes: what a reader (or a resumed run) finds after a crash is either the old file or the whole new
// one, and a file is never recorded in the journal before it, and the directory entry naming it, are on disk.

/** Writes `bytes` to `<target>.tmp-<pid>`, fsyncs it and renames it over `target`. The caller syncs the directory. */
export const writeFileDurably = (
  fs: FileSystem.FileSystem,
  target: string,
  bytes: Uint8Array
): Effect.Effect<void, OutputError> => {
  const temporary = temporaryFileOf(target, process.pid)
  return Effect.scoped(
    Effect.gen(function*() {
      const file = yield* fs.open(temporary, { flag: "w" })
      yield* file.writeAll(bytes)
      yield* file.sync
    })
  ).pipe(
    Effect.andThen(fs.rename(temporary, target)),
    Effect.mapError(ioError(target))
  )
}

/**
 * Fsyncs a directory, so the names created or renamed in it survive a crash. Platforms that cannot open a
 * directory (Windows) skip it: there a rename is already durable once the file's own data is.
 */
export const syncDirectory = (fs: FileSystem.FileSystem, directory: string): Effect.Effect<void, OutputError> =>
  process.platform === "win32"
    ? Effect.void
    : Effect.scoped(Effect.flatMap(fs.open(directory, { flag: "r" }), (handle) => handle.sync)).pipe(
      Effect.mapError(ioError(directory))
    )

const encoder = new TextEncoder()

/** `writeFileDurably` for text, then the directory sync: one self-contained atomic replacement. */
export const replaceFileDurably = (
  fs: FileSystem.FileSystem,
  directory: string,
  target: string,
  text: string
): Effect.Effect<void, OutputError> =>
  Effect.andThen(writeFileDurably(fs, target, encoder.encode(text)), syncDirectory(fs, directory))
