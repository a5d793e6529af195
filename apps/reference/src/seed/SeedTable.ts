/** A seed table read from its file: column names in file order, rows as records, and the sha256 of the bytes. */
export interface SeedTable {
  /** The resolved file path. */
  readonly file: string
  readonly columns: ReadonlyArray<string>
  readonly rows: ReadonlyArray<Readonly<Record<string, unknown>>>
  /** sha256 of the file: a changed table changes the dataset's identity (`--resume` refuses to mix them). */
  readonly sha256: string
}
