import { Cause, Console, Data, Effect, Runtime } from "effect"

/** Already reported on stderr; carries the process exit code. */
class ReportedFailure extends Data.TaggedError("ReportedFailure")<{ readonly code: number }> {
  override get [Runtime.errorExitCode](): number {
    return this.code
  }
}

const oneLine = (error: unknown): string => {
  if (typeof error === "object" && error !== null) {
    const record = error as { readonly report?: unknown; readonly message?: unknown; readonly _tag?: unknown }
    // An error with a `report` (a config error: every issue, one per line) is printed whole.
    if (typeof record.report === "string") return record.report
    if (typeof record.message === "string" && record.message !== "") return record.message.split("\n")[0] ?? ""
    if (typeof record._tag === "string") return record._tag
  }
  return String(error)
}

// Errors may name their own exit code (3: rows dropped, 4: the run stopped early); user errors default to 2.
const exitCodeOf = (error: unknown): number => {
  const code = typeof error === "object" && error !== null
    ? (error as { readonly exitCode?: unknown }).exitCode
    : undefined
  return typeof code === "number" ? code : 2
}

// The CLI's own parse errors: the presenter (main.ts) already printed one line per error.
const isCliParseError = (error: unknown): boolean =>
  typeof error === "object" && error !== null && (error as { readonly _tag?: unknown })._tag === "ShowHelp"

/**
 * Every failure a user can cause (a bad flag, a bad config, an unusable output directory, a refused resume) ends
 * as one line on stderr and exit code 2, or the code the error carries (3 and 4 for runs that did not put every
 * row on disk); anything else is a bug, printed in full with exit code 1.
 */
export const reportFailure = <A, E, R>(program: Effect.Effect<A, E, R>): Effect.Effect<A, ReportedFailure, R> =>
  program.pipe(
    Effect.catchCause((cause): Effect.Effect<never, ReportedFailure> => {
      if (Cause.hasInterruptsOnly(cause)) return Effect.interrupt
      const error = Cause.squash(cause)
      if (isCliParseError(error)) return Effect.fail(new ReportedFailure({ code: 2 }))
      const expected = Cause.hasFails(cause) && !Cause.hasDies(cause)
      const code = expected ? exitCodeOf(error) : 1
      return Console.error(
        expected ? `sluice: ${oneLine(error)}` : `sluice: unexpected failure\n${Cause.pretty(cause)}`
      ).pipe(
        Effect.andThen(Effect.fail(new ReportedFailure({ code })))
      )
    })
  )
