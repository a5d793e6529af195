import { Schema } from "effect"

export const ConfigIssue = Schema.Struct({
  /** Where in the file, e.g. `columns[1].model`; empty for the file as a whole. */
  path: Schema.String,
  problem: Schema.String
})
export type ConfigIssue = typeof ConfigIssue.Type

export const formatIssue = (
  issue: ConfigIssue
): string => (issue.path === "" ? issue.problem : `${issue.path}: ${issue.problem}`)

/** A config file that cannot run. The message is one line per issue, each naming where in the file it is. */
export class ConfigError extends Schema.TaggedError<ConfigError>()("ConfigError", {
  file: Schema.String,
  issues: Schema.NonEmptyArray(ConfigIssue)
}) {
  override get message(): string {
    return this.issues.map(formatIssue).join("\n")
  }
  /**
   * What the CLI prints: the one issue on one line, or every issue (never a truncated list) under a line that
   * counts them.
   */
  get report(): string {
    if (this.issues.length === 1) return formatIssue(this.issues[0])
    return [`${this.issues.length} problems in ${this.file}:`, ...this.issues.map((i) => `  ${formatIssue(i)}`)]
      .join("\n")
  }
}

/** `["columns", 1, "model"]` → `columns[1].model`. */
export const formatPath = (path: ReadonlyArray<PropertyKey>): string =>
  path.reduce<string>((text, segment) => {
    if (typeof segment === "number") return `${text}[${segment}]`
    const name = String(segment)
    return text === "" ? name : `${text}.${name}`
  }, "")
