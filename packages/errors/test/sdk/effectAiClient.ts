import { Effect } from "effect"
import { AiError } from "effect/ai"
import { FetchHttpClient, HttpClient, type HttpClientError, HttpClientRequest } from "effect/http"

/**
 * A chat-completions call failing with `effect/ai`'s `AiError`, built as `effect/ai`'s provider clients build it:
 * `AiError.reasonFromHttpStatus` for a non-2xx answer (status, headers and body in `http`) and
 * `AiError.NetworkError.fromHttpClientError` for a failed request. effect 4.1.0 ships no OpenAI client of its own,
 * and the published `@effect/ai-openai` 4.x betas import `effect/unstable/*`, which 4.1.0 no longer has.
 */
export const effectAiChat = (baseUrl: string, model: string) =>
  Effect.gen(function*() {
    const client = HttpClient.filterStatusOk(yield* HttpClient.HttpClient)
    const response = yield* client.execute(
      HttpClientRequest.post(`${baseUrl}/chat/completions`).pipe(
        HttpClientRequest.bodyJsonUnsafe({ model, messages: [{ role: "user", content: "Hello" }] })
      )
    )
    return yield* response.json
  }).pipe(
    Effect.catchTag("HttpClientError", (error) => Effect.flatMap(toAiError(error), Effect.fail)),
    Effect.provide(FetchHttpClient.layer)
  )

const method = "createChatCompletion"
const module = "OpenAiCompatibleClient"

const toAiError = (error: HttpClientError.HttpClientError): Effect.Effect<AiError.AiError> => {
  const reason = error.reason
  switch (reason._tag) {
    case "StatusCodeError":
      return Effect.map(Effect.orElseSucceed(reason.response.text, () => ""), (body) =>
        AiError.make({
          module,
          method,
          reason: AiError.reasonFromHttpStatus({
            status: reason.response.status,
            http: { response: { status: reason.response.status, headers: reason.response.headers }, body }
          })
        }))
    case "TransportError":
    case "EncodeError":
    case "InvalidUrlError":
      return Effect.succeed(AiError.make({
        module,
        method,
        reason: AiError.NetworkError.fromHttpClientError(
          error as HttpClientError.HttpClientError & { readonly reason: HttpClientError.RequestError }
        )
      }))
    default:
      return Effect.succeed(
        AiError.make({ module, method, reason: new AiError.InvalidOutputError({ description: reason.message }) })
      )
  }
}
