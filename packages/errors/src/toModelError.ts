import {
  ModelAPIConnectionError,
  ModelAPIError,
  ModelAuthenticationError,
  ModelBadRequestError,
  ModelContextWindowExceededError,
  type ModelError,
  ModelGenerationValidationError,
  ModelInternalServerError,
  ModelMalformedResponseError,
  ModelNotFoundError,
  ModelPermissionDeniedError,
  ModelProviderUnreachableError,
  ModelQuotaExceededError,
  ModelRateLimitError,
  ModelRequestAdmissionRejectedError,
  ModelRequestAdmissionTimeoutError,
  ModelResponseTooLargeError,
  ModelTimeoutError,
  ModelTruncatedResponseError,
  ModelUnprocessableEntityError,
  ModelUnsupportedCapabilityError,
  ModelUnsupportedParamsError
} from "./ModelError.js"
import type { ProviderError } from "./ProviderError.js"

export interface ToModelErrorOptions {
  /** What the call was for, in words ("generating column 'review'"); default "running generation". */
  readonly purpose?: string
}

const defaultPurpose = "running generation"

const openAiContextDetail = /maximum context length is \d+ tokens/i

const withoutFinalPeriod = (text: string): string => text.replace(/\.+$/, "")

// The provider's own words (or the OS's, for a failed connection) help; our own sentences around them do not:
// without an explicit `providerMessage`, the message counts only when the provider actually answered.
const providerMessageOf = (error: ProviderError): { readonly providerMessage?: string } => {
  if (error.providerMessage !== undefined && error.providerMessage !== "") {
    return { providerMessage: error.providerMessage }
  }
  return error.status === undefined || error.message === "" ? {} : { providerMessage: error.message }
}

/**
 * Turns a transport-level `ProviderError` into the model error a caller can act on: one tag per kind, each with
 * the provider, model, status, Retry-After, the cause in words and a solution.
 */
export const toModelError = (error: ProviderError, options: ToModelErrorOptions = {}): ModelError => {
  const purpose = options.purpose ?? defaultPurpose
  const model = error.model ?? "unknown"
  const facts = {
    provider: error.provider ?? "unknown",
    model,
    ...(error.status === undefined ? {} : { status: error.status }),
    ...(error.retryAfterSeconds === undefined ? {} : { retryAfterSeconds: error.retryAfterSeconds }),
    ...providerMessageOf(error),
    cause: error
  }
  switch (error.kind) {
    case "rate_limit":
      return new ModelRateLimitError({
        ...facts,
        reason: `Model '${model}' was rate limited by the provider while ${purpose}.`,
        solution: "Nothing is lost: the request is retried after the provider's Retry-After. To go faster, ask the " +
          "provider for a higher rate limit or lower maxParallelRequests."
      })
    case "quota_exceeded":
      return new ModelQuotaExceededError({
        ...facts,
        reason: `The provider account for model '${model}' has run out of quota or credits while ${purpose}.`,
        solution: "Add credits or raise the quota with the provider, then resume the run."
      })
    case "timeout":
      return new ModelTimeoutError({
        ...facts,
        reason: `The request to model '${model}' timed out while ${purpose}.`,
        solution:
          "Raise the request timeout (a Sluice model's timeoutSeconds), or check that the endpoint is healthy " +
          "and not overloaded."
      })
    case "request_admission_timeout":
      return new ModelRequestAdmissionTimeoutError({
        ...facts,
        resource: model,
        waitedMs: 0,
        waitersAhead: 0,
        reason: `Local request admission for model '${model}' timed out while ${purpose}; the provider request ` +
          "was not sent.",
        solution: admissionTimeoutSolution
      })
    case "context_window_exceeded": {
      const detail = openAiContextDetail.exec(error.message)?.[0]
      return new ModelContextWindowExceededError({
        ...facts,
        reason: `The input to model '${model}' is longer than its context window while ${purpose}` +
          (detail === undefined ? "." : ` (${detail}).`),
        solution: "Shorten the prompt or the inputs it includes, or use a model with a larger context window."
      })
    }
    case "authentication":
      return new ModelAuthenticationError({
        ...facts,
        reason: `The provider rejected the API key for model '${model}' while ${purpose}.`,
        solution: "Check that the API key is valid for this provider (for Sluice, the environment variable named by " +
          "apiKeyEnv)."
      })
    case "permission_denied":
      return new ModelPermissionDeniedError({
        ...facts,
        reason: `The API key has no permission to use model '${model}' while ${purpose}.`,
        solution: "Ask the provider for access to this model, or use a model your key may call."
      })
    case "not_found":
      return new ModelNotFoundError({
        ...facts,
        reason: `The provider does not know model '${model}' (or the endpoint path) while ${purpose}.`,
        solution: "Check the model name and the provider's baseUrl."
      })
    case "unsupported_params":
      return new ModelUnsupportedParamsError({
        ...facts,
        reason: `Model '${model}' does not accept one of the request's parameters while ${purpose}.`,
        solution: "Remove or change the parameter the provider message names."
      })
    case "bad_request":
      return new ModelBadRequestError({
        ...facts,
        reason: `The provider rejected the request to model '${model}' as malformed while ${purpose}.`,
        solution: "Read the provider message; fix the request parameters or the prompt it names."
      })
    case "internal_server":
      return new ModelInternalServerError({
        ...facts,
        reason: `The provider failed with a server error for model '${model}' while ${purpose}.`,
        solution: "Usually transient: the request is retried a few times. If it persists, check the provider's status."
      })
    case "unprocessable_entity":
      return new ModelUnprocessableEntityError({
        ...facts,
        reason: `The provider could not process the request to model '${model}' while ${purpose}.`,
        solution: "Read the provider message; a field of the request has a value the provider does not accept."
      })
    case "unsupported_capability":
      return new ModelUnsupportedCapabilityError({
        ...facts,
        reason: `${withoutFinalPeriod(error.message)} while ${purpose}.`,
        solution: "Use a model or provider that supports this operation."
      })
    case "api_connection":
      return new ModelAPIConnectionError({
        ...facts,
        reason: `Could not connect to the provider of model '${model}' while ${purpose}.`,
        solution: "Check the provider's baseUrl and your network; the request is retried a few times."
      })
    case "malformed_response":
      return new ModelMalformedResponseError({
        ...facts,
        reason: `The provider answered model '${model}' with a body that is not a usable answer (invalid, ` +
          `incomplete or cut off) while ${purpose}.`,
        solution: "Usually a glitch of one answer: the request is retried a few times. If it persists, check what " +
          "sits between you and the provider (a proxy, a gateway) and the provider's status."
      })
    case "response_too_large":
      return new ModelResponseTooLargeError({
        ...facts,
        reason: `The answer for model '${model}' was larger than the provider's response size cap while ` +
          `${purpose}; it was read no further.`,
        solution: "Lower maxTokens, or raise the provider's maxResponseBytes if answers this large are expected."
      })
    case "provider_unreachable":
      return new ModelProviderUnreachableError({
        ...facts,
        reason: `Provider '${facts.provider}' is down (repeated connection failures with no successful answer ` +
          `in between), so model '${model}' was not called while ${purpose}.`,
        solution: "Check that the provider runs and is reachable at its base URL (DNS, TLS certificate, firewall, " +
          "proxy), then run again to fill in the rows that needed it."
      })
    case "api_error":
      return new ModelAPIError({
        ...facts,
        reason: `The provider returned an unexpected error for model '${model}' while ${purpose}.`,
        solution: "Read the provider message; if it persists, report it to the provider."
      })
  }
}

const admissionTimeoutSolution =
  "Nothing is lost: the request is retried. To avoid the wait, lower the run's maxInFlightTasks or set the " +
  "model's maxParallelRequests to the endpoint's real capacity."

export interface AdmissionTimeoutFacts {
  readonly provider: string
  readonly model: string
  /** The admission resource label, e.g. "openai/gpt-4o/chat". */
  readonly resource: string
  readonly waitedMs: number
  readonly waitersAhead: number
  readonly purpose?: string
}

/** The model error for a local queue-wait timeout in request admission: the request was never sent. */
export const requestAdmissionTimeoutError = (facts: AdmissionTimeoutFacts): ModelRequestAdmissionTimeoutError =>
  new ModelRequestAdmissionTimeoutError({
    provider: facts.provider,
    model: facts.model,
    resource: facts.resource,
    waitedMs: facts.waitedMs,
    waitersAhead: facts.waitersAhead,
    reason: `Local request admission for model '${facts.model}' timed out after ${Math.round(facts.waitedMs)} ms ` +
      `with ${facts.waitersAhead} requests ahead while ${facts.purpose ?? defaultPurpose}; the provider request ` +
      "was not sent.",
    solution: admissionTimeoutSolution
  })

export interface AdmissionRejectedFacts {
  readonly provider: string
  readonly model: string
  readonly resource: string
  readonly rejection: "unknown_resource" | "shutdown"
}

/** The model error for a request that local admission refused: an unregistered model, or admission shut down. */
export const requestAdmissionRejectedError = (facts: AdmissionRejectedFacts): ModelRequestAdmissionRejectedError =>
  new ModelRequestAdmissionRejectedError({
    ...facts,
    reason: facts.rejection === "unknown_resource"
      ? `Model '${facts.model}' on provider '${facts.provider}' is not registered with request admission.`
      : `Request admission for '${facts.resource}' is shutting down.`,
    solution: facts.rejection === "unknown_resource"
      ? "Register the provider/model (with its maxParallelRequests) before sending requests to it."
      : "The run is stopping; start it again (or resume) to finish the remaining rows."
  })

export interface GenerationValidationFacts {
  readonly provider: string
  readonly model: string
  /** What was wrong with the output, e.g. "$.score: expected integer". */
  readonly detail: string
  readonly purpose?: string
}

/** The model error for an answer whose content failed validation (bad JSON, schema mismatch): retryable. */
export const generationValidationError = (facts: GenerationValidationFacts): ModelGenerationValidationError =>
  new ModelGenerationValidationError({
    provider: facts.provider,
    model: facts.model,
    reason: `The output of model '${facts.model}' failed validation while ${facts.purpose ?? defaultPurpose}: ` +
      `${withoutFinalPeriod(facts.detail.replace(/\s+/g, " ").trim())}.`,
    solution: "The request is retried a few times. If it keeps failing, make the prompt state the expected format " +
      "more plainly, or relax the schema."
  })

export interface TruncatedResponseFacts {
  readonly provider: string
  readonly model: string
  /** The token limit the request set, when it set one (`max_tokens` / `max_completion_tokens`). */
  readonly maxTokens?: number | undefined
  /** `false`: the caller drops the row at once instead of trying again (see `ModelTruncatedResponseError`). */
  readonly retry: boolean
  readonly purpose?: string
}

/** The model error for an answer cut off by its token limit (`finish_reason: "length"`). */
export const truncatedResponseError = (facts: TruncatedResponseFacts): ModelTruncatedResponseError =>
  new ModelTruncatedResponseError({
    provider: facts.provider,
    model: facts.model,
    retry: facts.retry,
    reason: `The answer of model '${facts.model}' was cut off by its token limit${
      facts.maxTokens === undefined ? "" : ` (${facts.maxTokens})`
    } while ${facts.purpose ?? defaultPurpose}.`,
    solution: facts.retry
      ? "The request is retried a few times. If answers keep being cut off, raise maxTokens (or " +
        "maxCompletionTokens for a reasoning model), or ask for a shorter answer."
      : "The row was dropped (onTruncated: drop). Raise maxTokens, ask for a shorter answer, or set onTruncated " +
        "to retry or keep."
  })
