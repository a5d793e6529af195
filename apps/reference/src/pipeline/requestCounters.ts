import type { ModelError, ProviderError } from "@sluice/errors"
import { Exit } from "effect"

/** What `summary.json` reports about provider attempts (DESIGN §6). */
export interface RequestCounts {
  attempts: number
  succeeded: number
  rateLimited: number
  serverErrors: number
  timeouts: number
  admissionTimeouts: number
}

export const emptyRequestCounts = (): RequestCounts => ({
  attempts: 0,
  succeeded: 0,
  rateLimited: 0,
  serverErrors: 0,
  timeouts: 0,
  admissionTimeouts: 0
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
  else if (error.status !== undefined && error.status >= 500) counts.serverErrors++
}

/** Counts a call that never reached the provider because local admission timed out. */
export const countCallFailure = (counts: RequestCounts, error: ModelError): void => {
  if (error._tag === "ModelRequestAdmissionTimeoutError") counts.admissionTimeouts++
}
