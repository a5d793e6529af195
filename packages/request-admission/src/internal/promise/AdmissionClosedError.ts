import { Schema } from "effect"

/**
 * `close()` was called before this run finished (its call, if one was running, was aborted), or `run` was called
 * after `close()`. Nothing of it is held any more: its lease, if any, was released.
 */
export class AdmissionClosedError extends Schema.TaggedError<AdmissionClosedError>()("AdmissionClosedError", {
  provider: Schema.String,
  model: Schema.String,
  message: Schema.String
}) {}

export const closedError = (provider: string, model: string): AdmissionClosedError =>
  new AdmissionClosedError({
    provider,
    model,
    message: `The run for model '${model}' on provider '${provider}' did not finish: admission.close() was called. ` +
      "Call close() only once every run you still need has settled, or create a new admission."
  })
