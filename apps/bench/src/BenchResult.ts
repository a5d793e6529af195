/**
 * The shape every `pnpm bench` scenario reports: one JSON object per scenario, printed as the last
 * stdout line with `--json`. Timings are context; `ratioToIdeal` is the number to compare.
 */
export interface BenchResult {
  readonly scenario: string
  readonly rowsRequested: number
  readonly rowsCompleted: number
  readonly rowsDropped: number
  readonly admissionTimeouts: number
  readonly maxRequestWaiters: number
  readonly elapsedSeconds: number
  readonly idealSeconds: number
  readonly ratioToIdeal: number
  readonly leaks: { readonly taskLeases: number; readonly requestLeases: number; readonly requestWaiters: number }
  readonly extra: Readonly<Record<string, unknown>>
}

/** One line of the `peers` report: the same fields, named by variant. */
export interface PeerVariantResult extends BenchResult {
  readonly name: "sluice" | "p-limit" | "p-queue" | "bottleneck"
  readonly workload: string
}

export interface PeersReport {
  readonly scenario: "peers"
  readonly variants: ReadonlyArray<PeerVariantResult>
}

export interface AllReport {
  readonly scenario: "all"
  readonly results: ReadonlyArray<BenchResult | PeersReport | { readonly scenario: "scaleout" }>
}

/** A point of a scenario's timeline (for the SVG): per provider in flight and limit, and rows completed. */
export interface TimelinePoint {
  readonly atSeconds: number
  /** Whole rows completed (Sluice's pipeline: rows of checkpointed row groups), never a count of cells. */
  readonly rowsDone: number
  readonly providers: Readonly<Record<string, { readonly inFlight: number; readonly limit: number }>>
}

/** 429s a mock provider answered between two polls of its `/stats`, drawn at the second poll's time. */
export interface RateLimitedMark {
  readonly atSeconds: number
  readonly provider: string
  readonly count: number
}

/** What a timeline plot draws beside the series. */
export interface TimelineMarks {
  /** The provider's real capacity, as a rule on the requests axis. */
  readonly capacity?: { readonly label: string; readonly requests: number }
  readonly rateLimited?: ReadonlyArray<RateLimitedMark>
  /** The timeline is on virtual seconds (TestClock). */
  readonly virtualTime?: boolean
}

export const round3 = (x: number): number => Math.round(x * 1000) / 1000

/** Fills `ratioToIdeal` and rounds the timings; every scenario builds its result through this. */
export const benchResult = (fields: Omit<BenchResult, "ratioToIdeal">): BenchResult => ({
  scenario: fields.scenario,
  rowsRequested: fields.rowsRequested,
  rowsCompleted: fields.rowsCompleted,
  rowsDropped: fields.rowsDropped,
  admissionTimeouts: fields.admissionTimeouts,
  maxRequestWaiters: fields.maxRequestWaiters,
  elapsedSeconds: round3(fields.elapsedSeconds),
  idealSeconds: round3(fields.idealSeconds),
  ratioToIdeal: fields.idealSeconds > 0 ? round3(fields.elapsedSeconds / fields.idealSeconds) : 0,
  leaks: fields.leaks,
  extra: fields.extra
})

/** The keys of the JSON line, in order (tests check the shape against this). */
export const benchResultKeys = [
  "scenario",
  "rowsRequested",
  "rowsCompleted",
  "rowsDropped",
  "admissionTimeouts",
  "maxRequestWaiters",
  "elapsedSeconds",
  "idealSeconds",
  "ratioToIdeal",
  "leaks",
  "extra"
] as const
