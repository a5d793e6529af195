// Column-by-column baseline (deliberately plain async TypeScript, see common.ts): the old synchronous engine's
// shape, as a user would write it — for each model column in dependency order, all rows of that column at once
// through a p-limit per endpoint sized to its maxParallelRequests; the next column starts when the whole column is done.
import pLimit from "p-limit"
import { callOnce, PeerMeter } from "./common.js"

export interface ColumnEndpoint {
  readonly baseUrl: string
  readonly model: string
  readonly maxParallelRequests: number
}

export interface ColumnWork {
  readonly name: string
  readonly requires: ReadonlyArray<string>
  readonly endpoint: ColumnEndpoint
}

/** Topological order (columns arrive in an order where requirements come first, as configs are written). */
export const runColumnByColumn = async (
  rows: number,
  columns: ReadonlyArray<ColumnWork>
): Promise<{ elapsedSeconds: number; attempts: number }> => {
  const limits = new Map<string, ReturnType<typeof pLimit>>()
  for (const c of columns) {
    if (!limits.has(c.endpoint.baseUrl)) limits.set(c.endpoint.baseUrl, pLimit(c.endpoint.maxParallelRequests))
  }
  const meter = new PeerMeter(() => 0)
  for (const column of columns) {
    const limit = limits.get(column.endpoint.baseUrl)!
    const workload = {
      rows,
      columns: [],
      baseUrl: column.endpoint.baseUrl,
      model: column.endpoint.model,
      maxParallelRequests: column.endpoint.maxParallelRequests
    }
    await Promise.all(
      Array.from({ length: rows }, (_, row) => limit(() => callOnce(workload, meter, `row ${row} ${column.name}`)))
    )
  }
  return { elapsedSeconds: meter.stop(), attempts: meter.attempts }
}
