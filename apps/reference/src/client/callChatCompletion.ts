import {
  describeTransportFailure,
  ProviderError,
  providerErrorFromHttp,
  providerErrorFromTransport,
  type ProviderIdentity
} from "@sluice/errors"
import { Effect, Option, Redacted, Schema } from "effect"
import {
  type ChatCompletion,
  type ChatCompletionRequest,
  ChatCompletionWire,
  defaultMaxResponseBytes,
  isChatCompletionWire,
  type ResponseFormat,
  toChatCompletion
} from "./ChatCompletion.js"
import {
  ProviderTransport,
  type ProviderTransportShape,
  type TransportError,
  type TransportResponseTooLarge,
  TransportTarget
} from "./ProviderTransport.js"
import { scrubSecret, type Secrets, secretFreeCause } from "./secrets.js"

const decodeWire = Schema.decodeUnknownEffect(Schema.fromJsonString(ChatCompletionWire))

// Error bodies can be whole HTML pages; the classifier needs the first few KB at most.
const maxBodyChars = 4096

const wireResponseFormat = (format: ResponseFormat) =>
  format.type === "json_object"
    ? { type: "json_object" }
    : {
      type: "json_schema",
      json_schema: {
        name: format.name,
        schema: format.schema,
        ...(format.strict === undefined ? {} : { strict: format.strict })
      }
    }

// Only the parameters the config sets are sent: a server applies its own defaults to the rest. `max_tokens` is
// what every OpenAI-compatible server (vLLM, llama.cpp, Ollama…) reads; `max_completion_tokens` is OpenAI's for
// reasoning models. `extraBody` comes last, so it can set (or override) anything.
const wireBody = (request: ChatCompletionRequest) => ({
  model: request.model,
  messages: request.messages,
  ...(request.temperature === undefined ? {} : { temperature: request.temperature }),
  ...(request.topP === undefined ? {} : { top_p: request.topP }),
  ...(request.maxTokens === undefined ? {} : { max_tokens: request.maxTokens }),
  ...(request.maxCompletionTokens === undefined ? {} : { max_completion_tokens: request.maxCompletionTokens }),
  ...(request.seed === undefined ? {} : { seed: request.seed }),
  ...(request.stop === undefined ? {} : { stop: request.stop }),
  ...(request.responseFormat === undefined ? {} : { response_format: wireResponseFormat(request.responseFormat) }),
  ...request.extraBody
})

const chatCompletionsUrl = (baseUrl: string) => `${baseUrl.replace(/\/+$/, "")}/chat/completions`

/**
 * The one place the key and the extra headers are unwrapped: they go into the request's headers and nowhere else
 * (the target prints without its headers). The extra headers cannot replace the ones the client relies on.
 */
const targetOf = (request: ChatCompletionRequest): TransportTarget | undefined =>
  TransportTarget.make(chatCompletionsUrl(request.baseUrl), {
    ...(request.extraHeaders === undefined ? {} : lowerCaseKeys(Redacted.value(request.extraHeaders))),
    accept: "application/json",
    "content-type": "application/json",
    ...(request.apiKey === undefined ? {} : { authorization: `Bearer ${Redacted.value(request.apiKey)}` })
  })

const lowerCaseKeys = (headers: Readonly<Record<string, string>>): Record<string, string> =>
  Object.fromEntries(Object.entries(headers).map(([name, value]) => [name.toLowerCase(), value]))

// The URL and headers are built once per endpoint, key and header set; each attempt only brings its body. A
// handful of endpoints per run; the bound only guards odd callers.
interface Targets {
  readonly byUrl: Map<
    string,
    {
      readonly apiKey: Redacted.Redacted<string> | undefined
      readonly extraHeaders: ChatCompletionRequest["extraHeaders"]
      readonly target: TransportTarget | undefined
    }
  >
}
const maxCachedEndpoints = 64

const targetFor = (cache: Targets, request: ChatCompletionRequest): TransportTarget | undefined => {
  const cached = cache.byUrl.get(request.baseUrl)
  if (cached !== undefined && cached.apiKey === request.apiKey && cached.extraHeaders === request.extraHeaders) {
    return cached.target
  }
  if (cache.byUrl.size >= maxCachedEndpoints) cache.byUrl.clear()
  const target = targetOf(request)
  cache.byUrl.set(request.baseUrl, { apiKey: request.apiKey, extraHeaders: request.extraHeaders, target })
  return target
}

const encodeError = (identity: ProviderIdentity) =>
  new ProviderError({
    ...identity,
    kind: "bad_request",
    message: `The request to provider '${identity.provider}' could not be encoded as JSON.`
  })

const invalidUrlError = (identity: ProviderIdentity) =>
  new ProviderError({
    ...identity,
    kind: "api_error",
    message: `Provider '${identity.provider}' has an invalid base URL.`
  })

// JSON's throwing APIs as Options: a body that cannot be encoded or parsed is a typed failure, not a throw.
const stringifyJson = Option.liftThrowable((value: unknown): string => JSON.stringify(value))
const parseJson = Option.liftThrowable((text: string): unknown => JSON.parse(text))

/**
 * Transport failures (refused, reset, DNS, TLS…) and answers cut off mid-way. The cause is rebuilt from names,
 * codes and scrubbed messages only: the original error objects can reference the request. A 2xx cut off mid-body
 * reached the provider and got an answer, just not a whole one: a malformed response, not a connection failure.
 */
const fromTransportError = (
  error: TransportError,
  identity: ProviderIdentity,
  secret: Secrets
): Effect.Effect<never, ProviderError> => {
  const cause = secretFreeCause(error.cause, secret)
  if (error.status === undefined) return Effect.fail(providerErrorFromTransport({ ...identity, failure: cause }))
  if (error.status >= 200 && error.status < 300) {
    const described = describeTransportFailure(cause)
    return Effect.fail(
      new ProviderError({
        ...identity,
        kind: "malformed_response",
        status: error.status,
        message: `Provider '${identity.provider}' answered ${error.status} but the body was cut off after ` +
          `${error.receivedBytes ?? 0} bytes (${described}).`,
        providerMessage: `body cut off after ${error.receivedBytes ?? 0} bytes: ${described}`,
        cause
      })
    )
  }
  // An error answer cut off mid-body: its status says enough.
  return Effect.flip(providerErrorFromHttp({ ...identity, status: error.status }))
}

const fromTooLarge = (error: TransportResponseTooLarge, identity: ProviderIdentity): ProviderError => {
  const size = error.declaredBytes === undefined
    ? "more than"
    : `${error.declaredBytes} bytes (Content-Length), over`
  const detail = `body of ${size} the ${error.maxBytes}-byte cap (maxResponseBytes); read no further`
  return new ProviderError({
    ...identity,
    kind: "response_too_large",
    status: error.status,
    message: `Provider '${identity.provider}' answered ${error.status} with a ${detail}.`,
    providerMessage: detail
  })
}

/** A 2xx whose answer cannot be used: `problem` says why (and is what the row's drop message quotes). */
const malformedAnswer = (identity: ProviderIdentity, status: number, problem: string) =>
  new ProviderError({
    ...identity,
    kind: "malformed_response",
    status,
    message: `Provider '${identity.provider}' answered ${status}, but ${problem}`,
    providerMessage: problem
  })

const notACompletion = (identity: ProviderIdentity, status: number, secret: Secrets, detail: string) =>
  malformedAnswer(identity, status, scrubSecret(`the body is not a chat completion: ${detail.slice(0, 500)}`, secret))

// Stops at the first character that is not white space: no copy of a long answer is made to find out.
const hasText = /\S/

const noTextAtTokenLimit = "the message has no text (finish_reason: length); the token limit was reached before any " +
  "text (raise maxTokens)"

/** An answer without text because the token limit was reached first: the model answered, its limit is too low. */
export const isNoTextAtTokenLimit = (error: ProviderError): boolean => error.providerMessage === noTextAtTokenLimit

const noText = (identity: ProviderIdentity, status: number, finishReason: string | undefined) =>
  malformedAnswer(
    identity,
    status,
    finishReason === "length"
      ? noTextAtTokenLimit
      : `the message has no text (finish_reason: ${finishReason ?? "none"})`
  )

/**
 * Decodes a 2xx body: `JSON.parse` and a direct check of the fields we read on the hot path; only a body that
 * fails either goes through the schema decoder, so the error message is the schema's, exactly as before.
 */
const decodeBody = (
  text: string,
  status: number,
  identity: ProviderIdentity,
  secret: Secrets
): Effect.Effect<ChatCompletionWire, ProviderError> => {
  const parsed = Option.getOrUndefined(parseJson(text))
  if (parsed !== undefined && isChatCompletionWire(parsed)) return Effect.succeed(parsed)
  return decodeWire(text).pipe(Effect.mapError((error) => notACompletion(identity, status, secret, error.message)))
}

const attempt = Effect.fnUntraced(function*(
  transport: ProviderTransportShape,
  target: TransportTarget,
  request: ChatCompletionRequest,
  identity: ProviderIdentity,
  secret: Secrets
) {
  const body = stringifyJson(wireBody(request))
  if (Option.isNone(body)) return yield* encodeError(identity)
  const response = yield* transport.post(
    target,
    body.value,
    request.timeoutSeconds * 1000,
    request.maxResponseBytes ?? defaultMaxResponseBytes
  )
  if (response.status < 200 || response.status >= 300) {
    return yield* Effect.flip(providerErrorFromHttp({
      ...identity,
      status: response.status,
      // A server may echo the Authorization header in its error message; it must not reach our errors.
      body: scrubSecret(response.body.slice(0, maxBodyChars), secret),
      headers: response.headers
    }, request.maxRetryAfterSeconds === undefined ? {} : { maxSeconds: request.maxRetryAfterSeconds }))
  }
  const wire = yield* decodeBody(response.body, response.status, identity, secret)
  const completion = toChatCompletion(wire, request.model)
  // No text at all (empty, blank or null content) is no answer a column can use: retried like a garbled body,
  // never written as a value.
  if (!hasText.test(completion.content)) return yield* noText(identity, response.status, completion.finishReason)
  return completion
})

const secretsOf = (request: ChatCompletionRequest): Secrets => {
  const key = request.apiKey === undefined ? undefined : Redacted.value(request.apiKey)
  if (request.extraHeaders === undefined) return key
  const values = Object.values(Redacted.value(request.extraHeaders))
  return key === undefined ? values : [key, ...values]
}

/** One chat-completions attempt on a given transport; see {@link chatCompletion}. */
export type ChatCompletionCall = (request: ChatCompletionRequest) => Effect.Effect<ChatCompletion, ProviderError>

/**
 * `chatCompletion` bound to one transport: nothing is looked up or provided per call, and each endpoint's target
 * (URL, Accept, Content-Type, Authorization) is built once. The live gateway makes one of these when its layer is built.
 */
export const makeChatCompletion = (transport: ProviderTransportShape): ChatCompletionCall => {
  const cache: Targets = { byUrl: new Map() }
  return (request) => {
    const identity: ProviderIdentity = { provider: request.provider ?? request.baseUrl, model: request.model }
    const target = targetFor(cache, request)
    if (target === undefined) return Effect.fail(invalidUrlError(identity))
    const secret = secretsOf(request)
    return attempt(transport, target, request, identity, secret).pipe(
      Effect.catchTags({
        TransportError: (error) => fromTransportError(error, identity, secret),
        TransportResponseTooLarge: (error) => Effect.fail(fromTooLarge(error, identity)),
        TransportTimeout: () =>
          Effect.fail(
            new ProviderError({
              ...identity,
              kind: "timeout",
              message: `Provider '${identity.provider}' did not answer within ${request.timeoutSeconds} s.`,
              // Said in drop messages: the limit and the setting that raises it.
              providerMessage: `timed out: no answer within ${request.timeoutSeconds} s (timeoutSeconds)`
            })
          )
      })
    )
  }
}

/**
 * One chat-completions attempt against an OpenAI-compatible endpoint, with no retries of its own (the
 * request-admission executor wraps each attempt in a lease and owns retries).
 *
 * Failures are all `ProviderError`s: non-2xx answers are classified by `providerErrorFromHttp` (status, body,
 * Retry-After capped at `maxRetryAfterSeconds`); refused/reset/DNS/TLS failures by `providerErrorFromTransport`;
 * an attempt that takes longer than `timeoutSeconds` is a `timeout`; a 2xx body that is not a chat completion
 * (not JSON, no `choices`, cut off mid-way) is a `malformed_response`, and one longer than `maxResponseBytes` a
 * `response_too_large` (read no further), both carrying the status. Interrupting the returned effect (including by
 * the timeout) aborts the HTTP request, so no socket is left waiting. The API key never appears in an error, a log
 * line or a span.
 */
export const chatCompletion = (
  request: ChatCompletionRequest
): Effect.Effect<ChatCompletion, ProviderError, ProviderTransport> =>
  ProviderTransport.use((transport) => makeChatCompletion(transport)(request))
