import type { ModelError, ProviderError } from "@sluice/errors"
import { Exit } from "effect"

/** What `summary.json` reports about provider attempts. Other tools read these names: keep them exactly. */
export interface RequestCounts {
  attempts: number
  succeeded: number
  rateLimited: number
  serverErrors: number
  timeouts: number
  admissionTimeouts: number
  /** Attempts that never reached the provider: refused, reset, DNS, TLS. */
  connectionFailures: number
  /** 2xx answers whose body was not a usable answer (not JSON, no `choices`, cut off mid-way). */
  malformedResponses: number
  /** Answers whose body outgrew the provider's `maxResponseBytes` (read no further). */
  oversizedResponses: number
  /** Calls not sent because their provider had been declared down (not counted as attempts). */
  notSentProviderDown: number
  /** Answers cut off by their token limit (`finish_reason: "length"`), whatever the column then did with them. */
  truncated: number
}

export const emptyRequestCounts = (): RequestCounts => ({
  attempts: 0,
  succeeded: 0,
  rateLimited: 0,
  serverErrors: 0,
  timeouts: 0,
  admissionTimeouts: 0,
  connectionFailures: 0,
  malformedResponses: 0,
  oversizedResponses: 0,
  notSentProviderDown: 0,
  truncated: 0
})

/** Counts one provider attempt by how it ended (counted where it happens, so the totals are exact). */
export const countAttempt = (counts: RequestCounts, exit: Exit.Exit<unknown, ProviderError>): void => {
  counts.attempts++
  if (Exit.isSuccess(exit)) {
    counts.succeeded++
    return
  }
  const failure = exit.cause.reasons.find((reason) => reason._tag === "Fail")
  if (failure === undefined) return
  const error = failure.error
  if (error.kind === "rate_limit") counts.rateLimited++
  else if (error.kind === "timeout") counts.timeouts++
  else if (error.kind === "api_connection") counts.connectionFailures++
  else if (error.kind === "malformed_response") counts.malformedResponses++
  else if (error.kind === "response_too_large") counts.oversizedResponses++
  else if (error.status !== undefined && error.status >= 500) counts.serverErrors++
}

/** Counts a call that never reached the provider because local admission timed out. */
export const countCallFailure = (counts: RequestCounts, error: ModelError): void => {
  if (error._tag === "ModelRequestAdmissionTimeoutError") counts.admissionTimeouts++
}

/** Counts a call refused because its provider is down. */
export const countNotSent = (counts: RequestCounts): void => {
  counts.notSentProviderDown++
}

/** Tokens one model alias used, as its provider reported them in `usage`. */
export interface TokenCounts {
  promptTokens: number
  completionTokens: number
  /** Answers whose provider sent no `usage`: their tokens are not in the totals. */
  answersWithoutUsage: number
}

/** Token usage per model alias, counted on every answer a provider sent (including ones later retried). */
export type TokenTally = Map<string, TokenCounts>

export const emptyTokenTally = (): TokenTally => new Map()

export const countTokens = (
  tally: TokenTally,
  alias: string,
  usage: { readonly promptTokens: number; readonly completionTokens: number } | undefined
): void => {
  let counts = tally.get(alias)
  if (counts === undefined) tally.set(alias, counts = { promptTokens: 0, completionTokens: 0, answersWithoutUsage: 0 })
  if (usage === undefined) {
    counts.answersWithoutUsage++
    return
  }
  counts.promptTokens += usage.promptTokens
  counts.completionTokens += usage.completionTokens
}

/** Prompt plus completion tokens over every model so far (what progress divides by elapsed time). */
export const totalTokens = (tally: TokenTally): number => {
  let total = 0
  for (const counts of tally.values()) total += counts.promptTokens + counts.completionTokens
  return total
}
