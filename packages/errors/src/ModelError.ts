import { Schema } from "effect"

// Every model error carries the same facts: who failed, the HTTP status and Retry-After when known, the cause
// in words a user can act on, and what to do about it.
const modelErrorFields = {
  provider: Schema.String,
  model: Schema.String,
  status: Schema.optional(Schema.Number),
  retryAfterSeconds: Schema.optional(Schema.Number),
  reason: Schema.String,
  solution: Schema.String,
  providerMessage: Schema.optional(Schema.String),
  cause: Schema.optional(Schema.Defect())
}

/** What `formatModelErrorMessage` reads from an error. */
export interface ModelErrorFacts {
  readonly provider: string
  readonly model: string
  readonly reason: string
  readonly solution: string
  readonly providerMessage?: string | undefined
}

// The first line is what one-line reports show (a dropped row's cause, a progress line): it must carry the fact a
// user acts on, so it is kept on one line and short.
const maxFirstLineDetail = 300

const oneLine = (text: string): string => {
  const flat = text.replace(/\s+/g, " ").trim()
  return flat.length <= maxFirstLineDetail ? flat : `${flat.slice(0, maxFirstLineDetail - 1)}…`
}

/**
 * The multi-line message every model error shows. The first line names the model and provider and carries the
 * provider's own message (or the OS error of a failed connection) when there is one, else the cause; the next
 * lines give the cause and the solution.
 */
export const formatModelErrorMessage = (error: ModelErrorFacts): string => {
  const detail = error.providerMessage === undefined || error.providerMessage.trim() === ""
    ? undefined
    : oneLine(error.providerMessage)
  return [
    `Model '${error.model}' on provider '${error.provider}' failed: ${detail ?? oneLine(error.reason)}`,
    ...(detail !== undefined && detail.endsWith("…") ? [`  | Provider message: ${error.providerMessage}`] : []),
    `  | Cause: ${error.reason}`,
    `  | Solution: ${error.solution}`
  ].join("\n")
}

/** The provider answered 429: back off, never drop (policy `preserve`). */
export class ModelRateLimitError
  extends Schema.TaggedError<ModelRateLimitError>()("ModelRateLimitError", modelErrorFields)
{
  override get message(): string {
    return formatModelErrorMessage(this)
  }
}

/** Quota or billing exhausted (even when sent as a 429): waiting will not help. */
export class ModelQuotaExceededError
  extends Schema.TaggedError<ModelQuotaExceededError>()("ModelQuotaExceededError", modelErrorFields)
{
  override get message(): string {
    return formatModelErrorMessage(this)
  }
}

/** The provider did not answer in time (408, read or connect timeout). */
export class ModelTimeoutError extends Schema.TaggedError<ModelTimeoutError>()("ModelTimeoutError", modelErrorFields) {
  override get message(): string {
    return formatModelErrorMessage(this)
  }
}

/**
 * Local request admission gave up waiting for a slot: the request was never sent, so this is local pressure, not
 * a provider failure (policy `preserve`). Its own tag, not a kind of `ModelTimeoutError`.
 */
export class ModelRequestAdmissionTimeoutError extends Schema.TaggedError<ModelRequestAdmissionTimeoutError>()(
  "ModelRequestAdmissionTimeoutError",
  {
    ...modelErrorFields,
    resource: Schema.String,
    waitedMs: Schema.Number,
    waitersAhead: Schema.Number
  }
) {
  override get message(): string {
    return formatModelErrorMessage(this)
  }
}

/**
 * Local request admission refused the request outright: the model was never registered (a configuration error)
 * or admission is shutting down. Retrying cannot help (policy `fail`).
 */
export class ModelRequestAdmissionRejectedError extends Schema.TaggedError<ModelRequestAdmissionRejectedError>()(
  "ModelRequestAdmissionRejectedError",
  {
    ...modelErrorFields,
    resource: Schema.String,
    rejection: Schema.Literals(["unknown_resource", "shutdown"])
  }
) {
  override get message(): string {
    return formatModelErrorMessage(this)
  }
}

export class ModelContextWindowExceededError
  extends Schema.TaggedError<ModelContextWindowExceededError>()("ModelContextWindowExceededError", modelErrorFields)
{
  override get message(): string {
    return formatModelErrorMessage(this)
  }
}

export class ModelAuthenticationError
  extends Schema.TaggedError<ModelAuthenticationError>()("ModelAuthenticationError", modelErrorFields)
{
  override get message(): string {
    return formatModelErrorMessage(this)
  }
}

export class ModelPermissionDeniedError
  extends Schema.TaggedError<ModelPermissionDeniedError>()("ModelPermissionDeniedError", modelErrorFields)
{
  override get message(): string {
    return formatModelErrorMessage(this)
  }
}

export class ModelNotFoundError
  extends Schema.TaggedError<ModelNotFoundError>()("ModelNotFoundError", modelErrorFields)
{
  override get message(): string {
    return formatModelErrorMessage(this)
  }
}

export class ModelUnsupportedParamsError
  extends Schema.TaggedError<ModelUnsupportedParamsError>()("ModelUnsupportedParamsError", modelErrorFields)
{
  override get message(): string {
    return formatModelErrorMessage(this)
  }
}

export class ModelBadRequestError
  extends Schema.TaggedError<ModelBadRequestError>()("ModelBadRequestError", modelErrorFields)
{
  override get message(): string {
    return formatModelErrorMessage(this)
  }
}

/** 5xx from the provider. */
export class ModelInternalServerError
  extends Schema.TaggedError<ModelInternalServerError>()("ModelInternalServerError", modelErrorFields)
{
  override get message(): string {
    return formatModelErrorMessage(this)
  }
}

export class ModelUnprocessableEntityError
  extends Schema.TaggedError<ModelUnprocessableEntityError>()("ModelUnprocessableEntityError", modelErrorFields)
{
  override get message(): string {
    return formatModelErrorMessage(this)
  }
}

export class ModelUnsupportedCapabilityError
  extends Schema.TaggedError<ModelUnsupportedCapabilityError>()("ModelUnsupportedCapabilityError", modelErrorFields)
{
  override get message(): string {
    return formatModelErrorMessage(this)
  }
}

/** The connection failed before an answer (refused, reset, DNS). */
export class ModelAPIConnectionError
  extends Schema.TaggedError<ModelAPIConnectionError>()("ModelAPIConnectionError", modelErrorFields)
{
  override get message(): string {
    return formatModelErrorMessage(this)
  }
}

/** Anything the provider answered that fits no other kind. */
export class ModelAPIError extends Schema.TaggedError<ModelAPIError>()("ModelAPIError", modelErrorFields) {
  override get message(): string {
    return formatModelErrorMessage(this)
  }
}

/**
 * The provider answered, but the output failed validation (e.g. structured output that does not match its JSON
 * schema). Another attempt may well succeed (policy `retry`).
 */
export class ModelGenerationValidationError
  extends Schema.TaggedError<ModelGenerationValidationError>()("ModelGenerationValidationError", modelErrorFields)
{
  override get message(): string {
    return formatModelErrorMessage(this)
  }
}

/**
 * A 2xx answer whose body is not a usable answer: invalid JSON, a missing `choices`, a body cut off mid-way.
 * Usually a glitch of one answer, so another attempt may well succeed (policy `retry`).
 */
export class ModelMalformedResponseError
  extends Schema.TaggedError<ModelMalformedResponseError>()("ModelMalformedResponseError", modelErrorFields)
{
  override get message(): string {
    return formatModelErrorMessage(this)
  }
}

/**
 * The answer's body was longer than the configured cap; it was read no further (policy `retry`: a bounded number
 * of attempts, then the row is dropped with this cause).
 */
export class ModelResponseTooLargeError
  extends Schema.TaggedError<ModelResponseTooLargeError>()("ModelResponseTooLargeError", modelErrorFields)
{
  override get message(): string {
    return formatModelErrorMessage(this)
  }
}

/**
 * The answer was cut off by its token limit (`finish_reason: "length"`): it is not a complete answer. Another
 * attempt may finish within the limit (policy `retry`). `retry: false` marks an answer its caller chose not to
 * try again (a column set to drop truncated rows): the row is dropped at once, with the same cause.
 */
export class ModelTruncatedResponseError
  extends Schema.TaggedError<ModelTruncatedResponseError>()("ModelTruncatedResponseError", {
    ...modelErrorFields,
    retry: Schema.optional(Schema.Boolean)
  })
{
  override get message(): string {
    return formatModelErrorMessage(this)
  }
}

/**
 * The provider has been declared down after repeated connection failures (refused, DNS, TLS…) with no successful
 * answer in between: the request was not sent, and will not be for the rest of the run (policy `fail`).
 */
export class ModelProviderUnreachableError
  extends Schema.TaggedError<ModelProviderUnreachableError>()("ModelProviderUnreachableError", modelErrorFields)
{
  override get message(): string {
    return formatModelErrorMessage(this)
  }
}

export type ModelError =
  | ModelRateLimitError
  | ModelQuotaExceededError
  | ModelTimeoutError
  | ModelRequestAdmissionTimeoutError
  | ModelRequestAdmissionRejectedError
  | ModelContextWindowExceededError
  | ModelAuthenticationError
  | ModelPermissionDeniedError
  | ModelNotFoundError
  | ModelUnsupportedParamsError
  | ModelBadRequestError
  | ModelInternalServerError
  | ModelUnprocessableEntityError
  | ModelUnsupportedCapabilityError
  | ModelAPIConnectionError
  | ModelAPIError
  | ModelGenerationValidationError
  | ModelMalformedResponseError
  | ModelResponseTooLargeError
  | ModelTruncatedResponseError
  | ModelProviderUnreachableError

export type ModelErrorTag = ModelError["_tag"]

/** Schema of the whole union: decode a model error back from JSON (events, reports, checkpoints). */
export const ModelError = Schema.Union([
  ModelRateLimitError,
  ModelQuotaExceededError,
  ModelTimeoutError,
  ModelRequestAdmissionTimeoutError,
  ModelRequestAdmissionRejectedError,
  ModelContextWindowExceededError,
  ModelAuthenticationError,
  ModelPermissionDeniedError,
  ModelNotFoundError,
  ModelUnsupportedParamsError,
  ModelBadRequestError,
  ModelInternalServerError,
  ModelUnprocessableEntityError,
  ModelUnsupportedCapabilityError,
  ModelAPIConnectionError,
  ModelAPIError,
  ModelGenerationValidationError,
  ModelMalformedResponseError,
  ModelResponseTooLargeError,
  ModelTruncatedResponseError,
  ModelProviderUnreachableError
])
