/**
 * Ideal times: `max over endpoints of busy_e ÷ C_e + drain`, where busy_e is the provider
 * busy time actually drawn (Σ latency of the calls it served), C_e the endpoint's effective concurrency
 * (min of `maxParallelRequests`, mock capacity, and rate quota × mean latency), and the drain the rest of the
 * per-row critical path once the bottleneck is through: (calls on the path − 1) × the longest latency.
 */

export interface EndpointLoad {
  /** Σ latency of the calls the endpoint served, seconds. */
  readonly busySeconds: number
  /** Calls served (for a rate-bound endpoint). */
  readonly calls: number
  readonly maxParallelRequests: number
  readonly capacity: number
  /** Requests per second the endpoint accepts, if rate limited. */
  readonly ratePerSecond?: number | undefined
  /** Requests the rate limiter lets through at once at the start (token-bucket burst). */
  readonly rateBurst?: number | undefined
}

/** min(maxParallelRequests, capacity, rate × mean latency). */
export const effectiveConcurrency = (e: EndpointLoad): number => {
  const meanLatency = e.calls > 0 ? e.busySeconds / e.calls : 0
  const byRate = e.ratePerSecond === undefined ? Infinity : e.ratePerSecond * meanLatency
  return Math.max(Number.MIN_VALUE, Math.min(e.maxParallelRequests, e.capacity, byRate))
}

/** busy ÷ C_e, or (calls − burst) ÷ rate when the quota binds. */
export const endpointSeconds = (e: EndpointLoad): number => {
  if (e.calls === 0) return 0
  const byConcurrency = e.busySeconds / Math.min(e.maxParallelRequests, e.capacity)
  if (e.ratePerSecond === undefined) return byConcurrency
  // A token bucket lets `rateBurst` requests through at t = 0, then `ratePerSecond`.
  return Math.max(byConcurrency, Math.max(0, e.calls - (e.rateBurst ?? 0)) / e.ratePerSecond)
}

export interface IdealInputs {
  readonly endpoints: ReadonlyArray<EndpointLoad>
  /** Model calls on the longest per-row dependency path. */
  readonly criticalPathCalls: number
  /** Longest single-call latency, seconds. */
  readonly maxLatencySeconds: number
}

export const idealSeconds = (inputs: IdealInputs): number =>
  Math.max(0, ...inputs.endpoints.map(endpointSeconds)) +
  Math.max(0, inputs.criticalPathCalls - 1) * inputs.maxLatencySeconds

/** The same ideal from expected values (for documentation and sanity checks): rows × calls × E[L] ÷ C + drain. */
export const expectedIdealSeconds = (o: {
  readonly rows: number
  readonly callsPerRow: number
  readonly latencyMs: readonly [number, number]
  readonly concurrency: number
  readonly criticalPathCalls: number
}): number =>
  (o.rows * o.callsPerRow * (o.latencyMs[0] + o.latencyMs[1])) / 2000 / o.concurrency +
  Math.max(0, o.criticalPathCalls - 1) * (o.latencyMs[1] / 1000)

/** Column-by-column makespan (the old sync engine): Σ over columns of the slowest wave sequence of that column. */
export const columnByColumnSeconds = (
  perColumnLatencies: ReadonlyArray<ReadonlyArray<number>>,
  concurrency: number
): number => perColumnLatencies.reduce((total, latencies) => total + listScheduleMakespan(latencies, concurrency), 0)

/** Greedy list-scheduling makespan of independent jobs on `servers` servers, in input order. */
export const listScheduleMakespan = (durations: ReadonlyArray<number>, servers: number): number => {
  const free = Array.from({ length: Math.max(1, servers) }, () => 0)
  for (const d of durations) {
    let best = 0
    for (let i = 1; i < free.length; i++) if (free[i]! < free[best]!) best = i
    free[best] = free[best]! + d
  }
  return Math.max(...free)
}
