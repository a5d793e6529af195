import Table from "cli-table3"
import { Console, Data, Effect, FileSystem, Path } from "effect"
import { Argument, Command, Flag } from "effect/cli"
import { writtenColumns } from "../config/checkReferences.js"
import { loadConfig } from "../config/loadConfig.js"
import { runPipeline } from "../pipeline/runPipeline.js"
import { describeDrops, exitCodeOf, exitCodes, progressMode } from "./generate.js"

// Long cells are cut here (then wrapped to the column's width): a preview is for reading prompts' effects.
const maxCellChars = 400
const minColumnWidth = 20
// Plain output, colours or not: a preview is often piped or pasted.
const style = { head: [], border: [] }

// Objects print as spaced JSON, so they wrap at item boundaries like prose does at words.
const cellText = (value: unknown): string => {
  const text = value === undefined
    ? ""
    : typeof value === "string"
    ? value
    : JSON.stringify(value, null, 1).replace(/\n\s*/g, " ")
  return text.length <= maxCellChars ? text : `${text.slice(0, maxCellChars - 1)}…`
}

/**
 * Rows as a table that fits the terminal: one row per line when every column gets at least `minColumnWidth`
 * characters, else one small two-column table (column, value) per row.
 */
export const formatPreview = (
  columns: ReadonlyArray<string>,
  rows: ReadonlyArray<Readonly<Record<string, unknown>>>,
  width: number
): string => {
  // A table's borders take one character per column plus one; padding takes two per column.
  const across = Math.floor((width - columns.length - 1) / columns.length)
  if (across >= minColumnWidth) {
    const table = new Table({ head: [...columns], colWidths: columns.map(() => across), wordWrap: true, style })
    for (const row of rows) table.push(columns.map((column) => cellText(row[column])))
    return table.toString()
  }
  const nameWidth = Math.min(Math.max(...columns.map((c) => c.length)) + 2, 32)
  const valueWidth = Math.max(minColumnWidth, width - nameWidth - 3)
  return rows.map((row, index) => {
    const table = new Table({
      head: [`row ${index + 1}`, ""],
      colWidths: [nameWidth, valueWidth],
      wordWrap: true,
      style
    })
    for (const column of columns) table.push([column, cellText(row[column])])
    return table.toString()
  }).join("\n")
}

/** The preview did not get every row; the message says why. Carries the exit code, as `generate`'s does. */
class PreviewIncompleteError extends Data.TaggedError("PreviewIncompleteError")<{
  readonly message: string
  readonly exitCode: number
}> {}

/** `sluice preview <config> [--rows N]`: a few rows, printed, not kept — for iterating on prompts. */
export const previewCommand = Command.make(
  "preview",
  {
    config: Argument.String("config").pipe(Argument.withDescription("Path to the YAML or JSON config file")),
    rows: Flag.Int("rows").pipe(Flag.withDescription("How many rows (default 5)"), Flag.withDefault(5))
  },
  Effect.fnUntraced(function*({ config, rows }) {
    const loaded = yield* loadConfig(config, { rows })
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    // The rows go to a temporary directory that is removed afterwards: a preview writes no dataset.
    const scratch = yield* fs.makeTempDirectoryScoped({ prefix: "sluice-preview-" })
    // Read back as JSON lines, whatever `run.format` says.
    const asJsonl = { ...loaded, config: { ...loaded.config, run: { ...loaded.config.run, format: "jsonl" as const } } }
    // Progress on stderr (and why nothing moves, when nothing does): a preview against a struggling provider says so.
    const { summary } = yield* runPipeline(asJsonl, {
      out: scratch,
      resume: false,
      progress: progressMode("auto", false)
    })
    const dataDir = path.join(scratch, "data")
    const files = (yield* fs.readDirectory(dataDir)).filter((file) => file.endsWith(".jsonl")).sort()
    const written: Array<Record<string, unknown>> = []
    for (const file of files) {
      const text = yield* fs.readFileString(path.join(dataDir, file))
      for (const line of text.split("\n")) if (line !== "") written.push(JSON.parse(line) as Record<string, unknown>)
    }
    const columns = writtenColumns(loaded.columns)
    if (written.length > 0) yield* Console.log(formatPreview(columns, written, process.stdout.columns ?? 120))
    const drops = describeDrops(summary)
    yield* Console.log(`${written.length} of ${rows} rows${drops === "" ? "" : `; dropped: ${drops}`} (not saved)`)
    // Like `generate`: 0 only when every row came; 3 rows dropped, 4 the run stopped or wrote nothing.
    const code = exitCodeOf(summary)
    if (code !== exitCodes.completed) {
      const stop = summary.stop === undefined ? "" : `the run stopped early (${summary.stop.message}); `
      return yield* new PreviewIncompleteError({
        message: `${stop}${written.length} of ${rows} rows came${drops === "" ? "" : ` (dropped: ${drops})`}`,
        exitCode: code
      })
    }
  }, Effect.scoped)
).pipe(Command.withDescription("Generate a few rows and print them as a table, without writing a dataset"))
