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

/** Maps a file-system failure on `path` to an `OutputError` naming it. */
export const ioError = (path: string) => (error: { readonly message: string }): OutputError =>
  new OutputError({ path, problem: error.message })
