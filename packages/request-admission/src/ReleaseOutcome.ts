/**
 * How a provider attempt ended, as told to `release`. Only `rate_limited` is provider pressure that
 * drives the adaptive limit down and starts a cooldown; `local_*` outcomes are our own doing and never
 * count as pressure.
 */
export type ReleaseOutcome =
  | { readonly kind: "success"; readonly usage?: RequestUsage | undefined }
  | {
    readonly kind: "rate_limited"
    readonly retryAfterSeconds?: number | undefined
    readonly usage?: RequestUsage | undefined
  }
  | {
    readonly kind: "provider_failure"
    readonly status?: number | undefined
    readonly usage?: RequestUsage | undefined
  }
  | { readonly kind: "provider_timeout"; readonly usage?: RequestUsage | undefined }
  | { readonly kind: "local_cancelled"; readonly usage?: RequestUsage | undefined }
  | { readonly kind: "local_timeout"; readonly usage?: RequestUsage | undefined }
  | { readonly kind: "unexpected_exception"; readonly usage?: RequestUsage | undefined }

/**
 * What the call really used, as the provider reported it (OpenAI's `usage.total_tokens`). A release that carries
 * it corrects the `tokensPerMinute` budget: the estimate charged at admission is replaced by `totalTokens`.
 */
export interface RequestUsage {
  readonly totalTokens: number
}

export type ReleaseOutcomeKind = ReleaseOutcome["kind"]

/** Constructors (shared singletons where there is no payload: releasing allocates nothing). */
export const ReleaseOutcome = {
  success: { kind: "success" } as ReleaseOutcome,
  rateLimited: (retryAfterSeconds?: number): ReleaseOutcome =>
    retryAfterSeconds === undefined ? { kind: "rate_limited" } : { kind: "rate_limited", retryAfterSeconds },
  providerFailure: (status?: number): ReleaseOutcome =>
    status === undefined ? { kind: "provider_failure" } : { kind: "provider_failure", status },
  providerTimeout: { kind: "provider_timeout" } as ReleaseOutcome,
  localCancelled: { kind: "local_cancelled" } as ReleaseOutcome,
  localTimeout: { kind: "local_timeout" } as ReleaseOutcome,
  unexpectedException: { kind: "unexpected_exception" } as ReleaseOutcome,
  /** The outcome with the call's usage (`undefined` usage: the outcome unchanged). */
  withUsage: (outcome: ReleaseOutcome, usage: RequestUsage | undefined): ReleaseOutcome =>
    usage === undefined ? outcome : { ...outcome, usage }
} as const

/** True for outcomes that describe the provider (the rest are local and never count as pressure). */
export const isProviderOutcome = (kind: ReleaseOutcomeKind): boolean =>
  kind !== "local_cancelled" && kind !== "local_timeout" && kind !== "unexpected_exception"

/**
 * The answer of `release`. `released: false` means nothing changed: the lease had already been
 * released (`duplicate`) or belongs to another controller (`foreign_lease`).
 */
export interface ReleaseResult {
  readonly released: boolean
  readonly reason: "released" | "duplicate" | "foreign_lease"
}
