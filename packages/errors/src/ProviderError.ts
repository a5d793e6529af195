import { Effect, Schema } from "effect"
import { type HeadersInput, headerValue } from "./headers.js"
import { classifyHttpStatus, extractBodyMessage } from "./httpClassification.js"
import { ProviderErrorKind } from "./ProviderErrorKind.js"
import { redactSecrets } from "./redaction.js"
import { parseRetryAfter, type RetryAfterOptions } from "./RetryAfter.js"
import { classifyTransportFailure, describeTransportFailure } from "./transportClassification.js"

/**
 * One failed provider request as the transport saw it: the kind, the provider's own message, and the HTTP status
 * and Retry-After when there were any. Model callers turn it into a `ModelError` with `toModelError`.
 */
export class ProviderError extends Schema.TaggedError<ProviderError>()("ProviderError", {
  kind: ProviderErrorKind,
  message: Schema.String,
  provider: Schema.optional(Schema.String),
  model: Schema.optional(Schema.String),
  status: Schema.optional(Schema.Number),
  retryAfterSeconds: Schema.optional(Schema.Number),
  /**
   * The provider's or the OS's own words, when `message` adds ours around them: e.g. "connect ECONNREFUSED
   * 127.0.0.1:9" for a refused connection. `toModelError` shows it as the model error's `providerMessage`.
   */
  providerMessage: Schema.optional(Schema.String),
  cause: Schema.optional(Schema.Defect())
}) {}

export interface ProviderIdentity {
  readonly provider: string
  readonly model: string
}

export interface HttpFailure extends ProviderIdentity {
  readonly status: number
  readonly body?: string | undefined
  readonly headers?: HeadersInput | undefined
}

/**
 * Classifies a non-2xx HTTP answer. Retry-After is read only on 429 (and capped, see `parseRetryAfter`); the
 * message is the body's own message (API keys redacted, see `redactSecrets`), or a sentence naming the provider
 * and status when the body has none.
 */
export const providerErrorFromHttp = (
  failure: HttpFailure,
  options: RetryAfterOptions = {}
): Effect.Effect<ProviderError> =>
  Effect.gen(function*() {
    const kind = classifyHttpStatus(failure.status, failure.body)
    const retryAfterSeconds = failure.status === 429
      ? yield* parseRetryAfter(headerValue(failure.headers, "retry-after"), options)
      : undefined
    const bodyMessage = redactSecrets(extractBodyMessage(failure.body))
    return new ProviderError({
      kind,
      message: bodyMessage !== ""
        ? bodyMessage
        : `Provider '${failure.provider}' request failed with status code ${failure.status}.`,
      provider: failure.provider,
      model: failure.model,
      status: failure.status,
      ...(retryAfterSeconds === undefined ? {} : { retryAfterSeconds })
    })
  })

/**
 * A failure around the HTTP call (no status): timeouts become `timeout`, refused, reset, unresolvable and TLS
 * failures `api_connection`. The OS's own words (code and address) are kept as `providerMessage`, API keys redacted.
 */
export const providerErrorFromTransport = (
  failure: ProviderIdentity & { readonly failure: unknown }
): ProviderError => {
  const described = redactSecrets(describeTransportFailure(failure.failure))
  return new ProviderError({
    kind: classifyTransportFailure(failure.failure),
    message: `Provider '${failure.provider}' request failed: ${described}`,
    provider: failure.provider,
    model: failure.model,
    ...(described === "" ? {} : { providerMessage: described }),
    cause: failure.failure
  })
}

interface StatusCarrier {
  readonly status: number
  readonly headers?: HeadersInput
  readonly error?: unknown
  readonly message?: unknown
}

const isStatusCarrier = (u: unknown): u is StatusCarrier =>
  typeof u === "object" && u !== null && typeof (u as { readonly status?: unknown }).status === "number"

const bodyOf = (carrier: StatusCarrier): string | undefined => {
  if (carrier.error !== undefined) return JSON.stringify({ error: carrier.error })
  return typeof carrier.message === "string" ? carrier.message : undefined
}

/**
 * Classifies whatever a provider SDK threw: a `ProviderError` passes through; an object with a numeric `status`
 * (openai-node's `APIError`, fetch-style errors) is classified as an HTTP answer from its `status`, `headers` and
 * `error` body; anything else is a transport failure.
 */
export const providerErrorFromUnknown = (
  failure: unknown,
  identity: ProviderIdentity,
  options: RetryAfterOptions = {}
): Effect.Effect<ProviderError> => {
  if (failure instanceof ProviderError) return Effect.succeed(failure)
  if (isStatusCarrier(failure)) {
    return providerErrorFromHttp(
      { ...identity, status: failure.status, body: bodyOf(failure), headers: failure.headers },
      options
    )
  }
  return Effect.succeed(providerErrorFromTransport({ ...identity, failure }))
}
