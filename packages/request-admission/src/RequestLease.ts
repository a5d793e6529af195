/**
 * A lease: permission for exactly one provider attempt. It holds one permit of its domain's adaptive
 * limit and one of its provider/model's static cap until it is released, exactly once.
 */
import type { RequestResourceKey } from "@sluice/scheduling-resources"

export interface RequestLease {
  /** Unique per controller, increasing in admission order. */
  readonly id: number
  readonly resource: RequestResourceKey
  /** Fairness group key (the resource label unless the item set one). */
  readonly group: string
  /** The domain's adaptive limit when this lease was admitted (drives "decrease once per cascade"). */
  readonly admittedLimit: number
  /** Time spent queued before admission (0 when admitted at once). */
  readonly waitedMs: number
}

/** What `acquire`/`tryAcquire` take. */
export interface RequestAdmissionItem {
  readonly resource: RequestResourceKey
  /** Fairness group; defaults to `{ key: <resource label>, weight: 1 }`. Weights must be > 0 (others count as 1). */
  readonly group?: { readonly key: string; readonly weight: number } | undefined
  /**
   * Queue-wait timeout for this item; `undefined` uses the controller default, `null` waits until
   * admitted, `0` means "try once, never wait" (fails with `QueueTimeout { waitedMs: 0 }` at once).
   */
  readonly queueWaitTimeoutSeconds?: number | null | undefined
  /**
   * Tokens (prompt + completion) this call is expected to use, charged to its provider/model's `tokensPerMinute`
   * budget until the release reports the real usage. Absent (or not a finite number ≥ 0): `defaultEstimatedTokens`.
   */
  readonly estimatedTokens?: number | undefined
}
