import type { SchedulerOptions } from "@sluice/scheduler"
import type { RunSettings } from "../config/schema.js"

/**
 * What provider failures do to the run, in the scheduler's terms: an authentication failure stops it; rows of a
 * provider declared down (`provider_unreachable`) do not count toward early shutdown, so rows that need only
 * healthy providers go on.
 */
const providerFailureHandling: Pick<SchedulerOptions, "stopOnKinds" | "earlyShutdown"> = {
  stopOnKinds: ["authentication"],
  earlyShutdown: { ignoredKinds: ["provider_unreachable"] }
}

/** The scheduler options the run's failure handling sets: the above, and `run.preserveDeadlineSeconds`. */
export const schedulerFailureOptions = (run: RunSettings): Partial<SchedulerOptions> => ({
  ...(run.preserveDeadlineSeconds === null ? {} : { retry: { preserveDeadline: run.preserveDeadlineSeconds * 1000 } }),
  ...providerFailureHandling
})
