import { parquetReadObjects } from "hyparquet"
import {
  ByteWriter,
  type ColumnSource,
  ParquetWriter,
  parquetWriteBuffer,
  schemaFromColumnData
} from "hyparquet-writer"
import { Effect } from "effect"

// Rows as Parquet, and back. Each column's type is inferred from its values, so a reader gets typed columns:
// text → STRING, whole numbers within 32 bits → INT32, other numbers → DOUBLE, booleans → BOOLEAN, anything else
// (objects, lists, mixed values) → JSON. Every column is nullable. Reading back gives the rows JSON would hold.

type BasicType = NonNullable<ColumnSource["type"]>

/** What a column's values seen so far allow: `none` until a non-null value. */
type ValueKind = "none" | "string" | "int" | "double" | "boolean" | "json"

const isInt32 = (value: number) => Number.isInteger(value) && value >= -2147483648 && value <= 2147483647

const kindOfValue = (value: unknown): ValueKind =>
  value === null || value === undefined
    ? "none"
    : typeof value === "string"
    ? "string"
    : typeof value === "boolean"
    ? "boolean"
    : typeof value === "number"
    ? isInt32(value) ? "int" : "double"
    : "json"

/** The kind of a column holding values of both kinds: whole and fractional numbers make doubles, others JSON. */
const joinKinds = (kind: ValueKind, next: ValueKind): ValueKind => {
  if (next === "none" || kind === next) return kind
  if (kind === "none") return next
  if ((kind === "int" && next === "double") || (kind === "double" && next === "int")) return "double"
  return "json"
}

const typeOfKind = (kind: ValueKind): BasicType => {
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

/**
 * The Parquet columns of rows seen a batch at a time: names in first-seen order, each typed by every value it
 * holds, so a file written in several row groups has one schema (`encodeParquet` types one batch the same way).
 */
export class ParquetColumns {
  private readonly kinds = new Map<string, ValueKind>()

  add(rows: ReadonlyArray<Readonly<Record<string, unknown>>>): void {
    for (const row of rows) {
      for (const name of Object.keys(row)) {
        this.kinds.set(name, joinKinds(this.kinds.get(name) ?? "none", kindOfValue(row[name])))
      }
    }
  }

  get names(): ReadonlyArray<string> {
    return [...this.kinds.keys()]
  }

  get columns(): ReadonlyArray<{ readonly name: string; readonly type: BasicType }> {
    return [...this.kinds].map(([name, kind]) => ({ name, type: typeOfKind(kind) }))
  }
}

/** One Parquet file of `rows`, in row groups of at most `rowGroupSize` rows. */
export const encodeParquet = (
  rows: ReadonlyArray<Readonly<Record<string, unknown>>>,
  rowGroupSize = 100_000
): Uint8Array => {
  const columns = new ParquetColumns()
  columns.add(rows)
  const columnData = columns.columns.map(({ name, type }): ColumnSource => ({
    name,
    data: rows.map((row) => row[name] ?? null),
    type,
    nullable: true
  }))
  return new Uint8Array(parquetWriteBuffer({ columnData, rowGroupSize, createdBy: "sluice" }))
}

/**
 * One Parquet file written a row group at a time, so that only one group's rows are in memory: `start`, one
 * `group` per batch of rows, then `finish`, each returning the bytes to append to the file. `columns` must cover
 * every batch (see `ParquetColumns`); a row without a column holds null there.
 */
export interface ParquetStream {
  readonly start: Uint8Array
  readonly group: (rows: ReadonlyArray<Readonly<Record<string, unknown>>>) => Uint8Array
  readonly finish: () => Uint8Array
}

export const parquetStream = (
  columns: ReadonlyArray<{ readonly name: string; readonly type: BasicType }>
): ParquetStream => {
  const writer = new ByteWriter()
  const schema = schemaFromColumnData({
    columnData: columns.map(({ name, type }) => ({ name, data: [], type, nullable: true }))
  })
  const parquet = new ParquetWriter({ writer, schema, createdBy: "sluice" })
  // The bytes since the last call; the writer keeps counting file offsets from where it was.
  const taken = (): Uint8Array => {
    const bytes = writer.getBytes().slice()
    writer.index = 0
    return bytes
  }
  return {
    start: taken(),
    group: (rows) => {
      if (rows.length === 0) return new Uint8Array(0)
      void parquet.write({
        columnData: columns.map(({ name }) => ({ name, data: rows.map((row) => row[name] ?? null) })),
        rowGroupSize: rows.length
      })
      return taken()
    },
    finish: () => {
      void parquet.finish()
      return taken()
    }
  }
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
