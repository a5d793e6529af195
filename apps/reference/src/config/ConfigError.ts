import { Schema } from "effect"

export const ConfigIssue = Schema.Struct({
  /** Where in the file, e.g. `columns[1].model`; empty for the file as a whole. */
  path: Schema.String,
  problem: Schema.String
})
export type ConfigIssue = typeof ConfigIssue.Type

const formatIssue = (
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
  /** The first issue, for a one-line error report. */
  get firstLine(): string {
    const more = this.issues.length > 1 ? ` (and ${this.issues.length - 1} more: run \`sluice validate\`)` : ""
    return `${formatIssue(this.issues[0])}${more}`
  }
}

/** `["columns", 1, "model"]` → `columns[1].model`. */
export const formatPath = (path: ReadonlyArray<PropertyKey>): string =>
  path.reduce<string>((text, segment) => {
    if (typeof segment === "number") return `${text}[${segment}]`
    const name = String(segment)
    return text === "" ? name : `${text}.${name}`
  }, "")
