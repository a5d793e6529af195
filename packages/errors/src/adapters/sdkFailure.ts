import { Effect } from "effect"
import type { HeadersInput } from "../headers.js"
import { extractBodyMessage } from "../httpClassification.js"
import {
  ProviderError,
  providerErrorFromHttp,
  providerErrorFromTransport,
  type ProviderIdentity
} from "../ProviderError.js"
import type { ProviderErrorKind } from "../ProviderErrorKind.js"
import type { RetryAfterOptions } from "../RetryAfter.js"
import { retryAfterFromHeaders } from "./retryAfterHeaders.js"

/** The fields of a `ProviderError`, each present only when it has a value. */
export interface ProviderErrorFields {
  readonly kind: ProviderErrorKind
  readonly message: string
  readonly provider?: string | undefined
  readonly model?: string | undefined
  readonly status?: number | undefined
  readonly retryAfterSeconds?: number | undefined
  /** The provider's (or the SDK's) own words, shown by the model error even without an HTTP status. */
  readonly providerMessage?: string | undefined
  readonly cause?: unknown
}

export const makeProviderError = (fields: ProviderErrorFields): ProviderError =>
  new ProviderError({
    kind: fields.kind,
    message: fields.message,
    ...(fields.provider === undefined ? {} : { provider: fields.provider }),
    ...(fields.model === undefined ? {} : { model: fields.model }),
    ...(fields.status === undefined ? {} : { status: fields.status }),
    ...(fields.retryAfterSeconds === undefined ? {} : { retryAfterSeconds: fields.retryAfterSeconds }),
    ...(fields.providerMessage === undefined ? {} : { providerMessage: fields.providerMessage }),
    ...(fields.cause === undefined ? {} : { cause: fields.cause })
  })

/** The fields of an existing `ProviderError`, to build a changed copy. */
export const fieldsOf = (error: ProviderError): ProviderErrorFields => ({
  kind: error.kind,
  message: error.message,
  provider: error.provider,
  model: error.model,
  status: error.status,
  retryAfterSeconds: error.retryAfterSeconds,
  providerMessage: error.providerMessage,
  cause: error.cause
})

/** An HTTP answer as an SDK reported it. */
export interface SdkHttpFailure {
  readonly status: number
  readonly body?: string | undefined
  readonly headers?: HeadersInput | undefined
  /** The SDK's own message: used when the body has none. */
  readonly sdkMessage?: string | undefined
  /** The kind, when the SDK already decided it; otherwise status and body decide, as for any HTTP answer. */
  readonly kind?: ProviderErrorKind | undefined
  /** A wait the SDK already parsed; otherwise `retry-after-ms` / `Retry-After` are read on a 429. */
  readonly retryAfterSeconds?: number | undefined
  /** What the SDK threw, kept as the cause. */
  readonly cause: unknown
}

/**
 * An HTTP failure an SDK reported, classified like any HTTP answer (`providerErrorFromHttp`), with what the SDKs
 * add: `retry-after-ms` before `Retry-After`, the SDK's message when the body has none, and the SDK's error as
 * the cause.
 */
export const providerErrorFromSdkHttp = Effect.fnUntraced(function*(
  failure: SdkHttpFailure,
  identity: ProviderIdentity,
  options: RetryAfterOptions = {}
) {
  const classified = yield* providerErrorFromHttp(
    { ...identity, status: failure.status, body: failure.body, headers: failure.headers },
    options
  )
  const kind = failure.kind ?? classified.kind
  // Like providerErrorFromHttp, the wait is read on 429s only (and on rate limits an SDK found without one).
  const retryAfterSeconds = failure.retryAfterSeconds ??
    (failure.status === 429 || kind === "rate_limit"
      ? yield* retryAfterFromHeaders(failure.headers, options)
      : undefined)
  const sdkMessage = failure.sdkMessage?.trim() ?? ""
  return makeProviderError({
    ...identity,
    kind,
    message: extractBodyMessage(failure.body) === "" && sdkMessage !== "" ? sdkMessage : classified.message,
    status: failure.status,
    retryAfterSeconds,
    cause: failure.cause
  })
})

// The innermost message of a cause chain: fetch's "fetch failed" hides the socket's "other side closed".
const rootCauseMessage = (failure: unknown): string | undefined => {
  let message: string | undefined
  let current: unknown = failure
  for (let depth = 0; depth < 5 && current instanceof Error; depth++) {
    if (current.message.trim() !== "") message = current.message.trim()
    current = current.cause
  }
  return message
}

/**
 * A failure without an HTTP answer, classified by `providerErrorFromTransport`. `unclassified` is the kind to use
 * when the failure's names and codes say nothing: an SDK that reports only connection problems this way knows
 * better than `api_error`. The message is the SDK's (or `summary`), followed by the root cause's when the SDK's
 * does not already say it.
 */
export const providerErrorFromSdkTransport = (
  failure: unknown,
  identity: ProviderIdentity,
  unclassified: ProviderErrorKind,
  summary?: string
): ProviderError => {
  const classified = providerErrorFromTransport({ ...identity, failure })
  const said = summary ?? (failure instanceof Error ? failure.message : String(failure))
  const root = rootCauseMessage(failure instanceof Error ? failure.cause : undefined)
  return makeProviderError({
    ...fieldsOf(classified),
    kind: classified.kind === "api_error" ? unclassified : classified.kind,
    message: `Provider '${identity.provider}' request failed: ${said}` +
      (root === undefined || said.includes(root) ? "" : ` (${root})`)
  })
}
