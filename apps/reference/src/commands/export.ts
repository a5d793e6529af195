import { Console, Effect } from "effect"
import { Argument, Command, Flag } from "effect/cli"
import { exportDataset } from "../output/exportDataset.js"

/** `sluice export <out> --format parquet|csv|jsonl --to <file>`: one file of a dataset's row groups, in order. */
export const exportCommand = Command.make(
  "export",
  {
    out: Argument.String("out").pipe(Argument.withDescription("The output directory of `sluice generate`")),
    format: Flag.Literals("format", ["parquet", "csv", "jsonl"]).pipe(
      Flag.withDescription("The file's format (default: from the --to extension, else jsonl)"),
      Flag.optional
    ),
    to: Flag.String("to").pipe(Flag.withDescription("The file to write (`-`: stdout)")),
    overwrite: Flag.Boolean("overwrite").pipe(
      Flag.withDescription("Replace --to if it exists"),
      Flag.withDefault(false)
    )
  },
  Effect.fnUntraced(function*({ out, format, to, overwrite }) {
    const chosen = format._tag === "Some"
      ? format.value
      : to.endsWith(".parquet")
      ? "parquet"
      : to.endsWith(".csv")
      ? "csv"
      : "jsonl"
    const result = yield* exportDataset(out, to, chosen, overwrite)
    const missing = result.rowsMissing > 0 ? ` (${result.rowsMissing} requested rows are not on disk)` : ""
    const line = `wrote ${
      to === "-" ? "stdout" : to
    }: ${result.rows} rows from ${result.rowGroups} row groups as ${chosen}${missing}`
    // With `--to -`, stdout carries the data only.
    yield* to === "-" ? Console.error(`sluice: ${line}`) : Console.log(line)
  })
).pipe(Command.withDescription("Merge a dataset's row groups, in order, into one Parquet, CSV or JSONL file"))
