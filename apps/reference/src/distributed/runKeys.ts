// Every Redis key of a distributed run lives under `sluice:run:<runId>:`; the row-group queue under
// `sluice:queue:`. A run id is unique per coordinator attempt, so a resumed run never meets an older attempt's
// queue entries, commit markers or workers.

/** The ids of started runs, newest first: a worker without `--run` joins the newest one that is live. */
export const runsKey = "sluice:runs"

/** The PersistedQueue key prefix and the queue of one run. */
export const queuePrefix = "sluice:queue:"
export const queueNameOf = (runId: string): string => `groups:${runId}`
/** Where PersistedQueue parks elements it gave up on (its dead letters). */
export const failedQueueKeyOf = (runId: string): string => `${queuePrefix}${queueNameOf(runId)}:failed`

export interface RunKeys {
  /** The run's spec (`RunSpec` as JSON): what a worker needs to join. */
  readonly spec: string
  /** `running`, then `done` or `stopped`: workers leave when it is no longer `running`. */
  readonly status: string
  /** Set by the coordinator with a TTL it keeps renewing: gone means the coordinator is gone. */
  readonly coordinator: string
  /** Commit records, in commit order (one per group: appended by the script that sets the group's marker). */
  readonly commits: string
  /** The first worker that saw the run stop (early shutdown, a stopping failure) records why here. */
  readonly stop: string
  /** Per worker: its request and token counts so far, as JSON (the summary adds them up). */
  readonly usage: string
  /** Every worker that joined. */
  readonly workers: string
  /** Group `g`'s commit marker: the first attempt to set it owns the group. */
  readonly marker: (group: number) => string
  /** A worker's liveness key (with a TTL it keeps renewing). */
  readonly worker: (workerId: string) => string
}

export const runKeysOf = (runId: string): RunKeys => {
  const base = `sluice:run:${runId}:`
  return {
    spec: `${base}spec`,
    status: `${base}status`,
    coordinator: `${base}coordinator`,
    commits: `${base}commits`,
    stop: `${base}stop`,
    usage: `${base}usage`,
    workers: `${base}workers`,
    marker: (group) => `${base}commit:${group}`,
    worker: (workerId) => `${base}worker:${workerId}`
  }
}
