import { ProviderError, providerErrorFromHttp, providerErrorFromTransport, type ProviderIdentity } from "@sluice/errors"
import { Duration, Effect, Option, Redacted, Schema } from "effect"
import { HttpClient, type HttpClientError, HttpClientRequest } from "effect/http"
import {
  type ChatCompletion,
  type ChatCompletionRequest,
  ChatCompletionWire,
  isChatCompletionWire,
  type ResponseFormat,
  toChatCompletion
} from "./ChatCompletion.js"
import { scrubSecret, secretFreeCause } from "./secrets.js"

const decodeWire = Schema.decodeUnknownEffect(Schema.fromJsonString(ChatCompletionWire))

// Error bodies can be whole HTML pages; the classifier needs the first few KB at most.
const maxBodyChars = 4096

const wireResponseFormat = (format: ResponseFormat) =>
  format.type === "json_object"
    ? { type: "json_object" }
    : {
      type: "json_schema",
      json_schema: { name: format.name, schema: format.schema, ...(format.strict === undefined ? {} : { strict: format.strict }) }
    }

const wireBody = (request: ChatCompletionRequest) => ({
  model: request.model,
  messages: request.messages,
  ...(request.temperature === undefined ? {} : { temperature: request.temperature }),
  // `max_tokens` rather than `max_completion_tokens`: every OpenAI-compatible server (vLLM, llama.cpp, Ollama…)
  // reads it, and OpenAI still accepts it for non-reasoning models.
  ...(request.maxTokens === undefined ? {} : { max_tokens: request.maxTokens }),
  ...(request.responseFormat === undefined ? {} : { response_format: wireResponseFormat(request.responseFormat) })
})

const chatCompletionsUrl = (baseUrl: string) => `${baseUrl.replace(/\/+$/, "")}/chat/completions`

/**
 * The one place the key is unwrapped: it goes into the Authorization header and nowhere else. Effect redacts
 * `authorization` when a request or its headers are printed or traced.
 */
const baseRequest = (baseUrl: string, apiKey: Redacted.Redacted<string> | undefined) =>
  HttpClientRequest.post(chatCompletionsUrl(baseUrl)).pipe(
    HttpClientRequest.acceptJson,
    apiKey === undefined ? (r) => r : HttpClientRequest.bearerToken(apiKey)
  )

// Requests are immutable, so the URL, Accept and Authorization part is built once per endpoint and key and each
// attempt only sets its body. A handful of endpoints per run; the bound only guards odd callers.
interface BaseRequests {
  readonly byUrl: Map<string, { readonly apiKey: Redacted.Redacted<string> | undefined; readonly request: HttpClientRequest.HttpClientRequest }>
}
const maxCachedEndpoints = 64

const baseRequestOf = (cache: BaseRequests, request: ChatCompletionRequest): HttpClientRequest.HttpClientRequest => {
  const cached = cache.byUrl.get(request.baseUrl)
  if (cached !== undefined && cached.apiKey === request.apiKey) return cached.request
  if (cache.byUrl.size >= maxCachedEndpoints) cache.byUrl.clear()
  const built = baseRequest(request.baseUrl, request.apiKey)
  cache.byUrl.set(request.baseUrl, { apiKey: request.apiKey, request: built })
  return built
}

const encodeError = (identity: ProviderIdentity) =>
  new ProviderError({
    ...identity,
    kind: "bad_request",
    message: `The request to provider '${identity.provider}' could not be encoded as JSON.`
  })

// JSON's throwing APIs as Options: a body that cannot be encoded or parsed is a typed failure, not a throw.
const stringifyJson = Option.liftThrowable((value: unknown): string => JSON.stringify(value))
const parseJson = Option.liftThrowable((text: string): unknown => JSON.parse(text))

/** `HttpClientRequest.bodyJson` without its Effect: the same body and headers, the same failure when encoding throws. */
const withJsonBody = (
  base: HttpClientRequest.HttpClientRequest,
  request: ChatCompletionRequest,
  identity: ProviderIdentity
): Effect.Effect<HttpClientRequest.HttpClientRequest, ProviderError> => {
  const json = stringifyJson(wireBody(request))
  return Option.isNone(json)
    ? Effect.fail(encodeError(identity))
    : Effect.succeed(HttpClientRequest.bodyText(base, json.value, "application/json"))
}

const fromClientError = (
  error: HttpClientError.HttpClientError,
  identity: ProviderIdentity,
  secret: string | undefined
): ProviderError => {
  const reason = error.reason
  switch (reason._tag) {
    case "EncodeError":
      return new ProviderError({
        ...identity,
        kind: "bad_request",
        message: `The request to provider '${identity.provider}' could not be encoded as JSON.`
      })
    case "InvalidUrlError":
      return new ProviderError({
        ...identity,
        kind: "api_error",
        message: `Provider '${identity.provider}' has an invalid base URL.`
      })
    default:
      // Transport failures (refused, reset, DNS…) and body reads cut off mid-way. The cause is rebuilt from
      // names, codes and scrubbed messages only: the original error objects can reference the request.
      return providerErrorFromTransport({ ...identity, failure: secretFreeCause(reason.cause ?? reason, secret) })
  }
}

const notACompletion = (identity: ProviderIdentity, status: number, secret: string | undefined, detail: string) =>
  new ProviderError({
    ...identity,
    kind: "api_error",
    status,
    message: scrubSecret(
      `Provider '${identity.provider}' answered ${status} with a body that is not a chat completion: ${detail.slice(0, 500)}`,
      secret
    )
  })

/**
 * Decodes a 2xx body: `JSON.parse` and a direct check of the fields we read on the hot path; only a body that
 * fails either goes through the schema decoder, so the error message is the schema's, exactly as before.
 */
const decodeBody = (
  text: string,
  status: number,
  identity: ProviderIdentity,
  secret: string | undefined
): Effect.Effect<ChatCompletionWire, ProviderError> => {
  const parsed = Option.getOrUndefined(parseJson(text))
  if (parsed !== undefined && isChatCompletionWire(parsed)) return Effect.succeed(parsed)
  return decodeWire(text).pipe(Effect.mapError((error) => notACompletion(identity, status, secret, error.message)))
}

const attempt = Effect.fnUntraced(function*(
  client: HttpClient.HttpClient,
  base: HttpClientRequest.HttpClientRequest,
  request: ChatCompletionRequest,
  identity: ProviderIdentity,
  secret: string | undefined
) {
  const httpRequest = yield* withJsonBody(base, request, identity)
  const response = yield* client.execute(httpRequest)
  const text = yield* response.text
  if (response.status < 200 || response.status >= 300) {
    return yield* Effect.flip(providerErrorFromHttp({
      ...identity,
      status: response.status,
      // A server may echo the Authorization header in its error message; it must not reach our errors.
      body: scrubSecret(text.slice(0, maxBodyChars), secret),
      headers: response.headers
    }))
  }
  const wire = yield* decodeBody(text, response.status, identity, secret)
  return toChatCompletion(wire, request.model)
})

/** One chat-completions attempt on a given `HttpClient`; see {@link chatCompletion}. */
export type ChatCompletionCall = (request: ChatCompletionRequest) => Effect.Effect<ChatCompletion, ProviderError>

/**
 * `chatCompletion` bound to one `HttpClient`: nothing is looked up or provided per call, and each endpoint's base
 * request (URL, Accept, Authorization) is built once. The live gateway makes one of these when its layer is built.
 */
export const makeChatCompletion = (client: HttpClient.HttpClient): ChatCompletionCall => {
  const cache: BaseRequests = { byUrl: new Map() }
  return (request) => {
    const identity: ProviderIdentity = { provider: request.provider ?? request.baseUrl, model: request.model }
    const secret = request.apiKey === undefined ? undefined : Redacted.value(request.apiKey)
    return attempt(client, baseRequestOf(cache, request), request, identity, secret).pipe(
      Effect.catchTag("HttpClientError", (error) => Effect.fail(fromClientError(error, identity, secret))),
      Effect.timeoutOrElse({
        duration: Duration.seconds(request.timeoutSeconds),
        orElse: () =>
          Effect.fail(
            new ProviderError({
              ...identity,
              kind: "timeout",
              message: `Provider '${identity.provider}' did not answer within ${request.timeoutSeconds} s.`
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
 * Retry-After); refused/reset connections by `providerErrorFromTransport`; an attempt that takes longer than
 * `timeoutSeconds` is a `timeout`; a 2xx body that is not a chat completion is an `api_error` carrying the
 * status. Interrupting the returned effect (including by the timeout) aborts the HTTP request, so no socket is
 * left waiting. The API key never appears in an error, a log line or a span.
 */
export const chatCompletion = (
  request: ChatCompletionRequest
): Effect.Effect<ChatCompletion, ProviderError, HttpClient.HttpClient> =>
  HttpClient.HttpClient.use((client) => makeChatCompletion(client)(request))
