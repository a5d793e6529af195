import { Schema } from "effect"

/**
 * The output directory cannot be used as asked: it is not Sluice's, another run holds it, `--resume` was refused,
 * or a file could not be read or written. The message names the directory or file and what to do.
 */
export class OutputError extends Schema.TaggedError<OutputError>()("OutputError", {
  path: Schema.String,
  problem: Schema.String
}) {
  override get message(): string {
    return `${this.path}: ${this.problem}`
  }
}

// What a system error code means for the path a command named, in words a user can act on.
const plainWords: Readonly<Record<string, string>> = {
  ENOENT: "does not exist (or a directory on its path does not)",
  ENOTDIR: "cannot be used: a part of its path is a file, not a directory",
  EISDIR: "is a directory; name a file",
  EACCES: "permission denied",
  EPERM: "operation not permitted",
  ENOSPC: "no space left on the device",
  EDQUOT: "disk quota exceeded",
  EROFS: "is on a read-only file system",
  EEXIST: "already exists",
  EBUSY: "is busy (in use, or a mount point)",
  ELOOP: "has a symbolic link loop on its path",
  ENAMETOOLONG: "has a name that is too long"
}

const codeOf = (error: unknown): string | undefined => {
  const reason = (error as { readonly reason?: { readonly cause?: { readonly code?: unknown } } }).reason
  const code = reason?.cause?.code
  return typeof code === "string" ? code : undefined
}

/** Maps a file-system failure on `path` to an `OutputError` naming it, in plain words where the code is known. */
export const ioError = (path: string) => (error: { readonly message: string }): OutputError => {
  const code = codeOf(error)
  const words = code === undefined ? undefined : plainWords[code]
  return new OutputError({ path, problem: words === undefined ? error.message : `${words} (${code})` })
}
