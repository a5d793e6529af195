import { parquetReadObjects } from "hyparquet"
import { type ColumnSource, parquetWriteBuffer } from "hyparquet-writer"
import { Effect } from "effect"

// Rows as Parquet, and back. Each column's type is inferred from its values, so a reader gets typed columns:
// text → STRING, whole numbers within 32 bits → INT32, other numbers → DOUBLE, booleans → BOOLEAN, anything else
// (objects, lists, mixed values) → JSON. Every column is nullable. Reading back gives the rows JSON would hold.

type BasicType = NonNullable<ColumnSource["type"]>

const isInt32 = (value: number) => Number.isInteger(value) && value >= -2147483648 && value <= 2147483647

const typeOf = (values: ReadonlyArray<unknown>): BasicType => {
  let kind: "none" | "string" | "int" | "double" | "boolean" | "json" = "none"
  for (const value of values) {
    if (value === null || value === undefined) continue
    const next = typeof value === "string"
      ? "string"
      : typeof value === "boolean"
      ? "boolean"
      : typeof value === "number"
      ? isInt32(value) ? "int" : "double"
      : "json"
    if (kind === "none" || kind === next) kind = next
    else if ((kind === "int" && next === "double") || (kind === "double" && next === "int")) kind = "double"
    else return "JSON"
  }
  switch (kind) {
    case "none":
    case "string":
      return "STRING"
    case "int":
      return "INT32"
    case "double":
      return "DOUBLE"
    case "boolean":
      return "BOOLEAN"
    case "json":
      return "JSON"
  }
}

/** Column names in first-seen order over the rows. */
const columnsOf = (rows: ReadonlyArray<Readonly<Record<string, unknown>>>): ReadonlyArray<string> => {
  const seen = new Set<string>()
  for (const row of rows) for (const key of Object.keys(row)) seen.add(key)
  return [...seen]
}

/** One Parquet file of `rows`, in row groups of at most `rowGroupSize` rows. */
export const encodeParquet = (
  rows: ReadonlyArray<Readonly<Record<string, unknown>>>,
  rowGroupSize = 100_000
): Uint8Array => {
  const columnData = columnsOf(rows).map((name): ColumnSource => {
    const data = rows.map((row) => row[name] ?? null)
    return { name, data, type: typeOf(data), nullable: true }
  })
  return new Uint8Array(parquetWriteBuffer({ columnData, rowGroupSize, createdBy: "sluice" }))
}

/** The rows of a Parquet file written by `encodeParquet`. */
export const decodeParquet = (bytes: Uint8Array): Effect.Effect<Array<Record<string, unknown>>, Error> =>
  Effect.tryPromise({
    try: () =>
      parquetReadObjects({
        file: bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer
      }) as Promise<Array<Record<string, unknown>>>,
    catch: (error) => (error instanceof Error ? error : new Error(String(error)))
  })
