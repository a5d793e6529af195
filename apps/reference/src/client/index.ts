/**
 * The OpenAI-compatible chat-completions client: one attempt per call, typed `ProviderError` failures, the API
 * key kept `Redacted`. Provide an `HttpClient` with `NodeHttpClient.layerUndici` (see `OpenAiClientLayer`).
 */
export {
  type ChatCompletion,
  type ChatCompletionRequest,
  ChatCompletionWire,
  type ChatMessage,
  type ResponseFormat,
  type TokenUsage
} from "./ChatCompletion.js"
export { type ChatCompletionCall, chatCompletion, makeChatCompletion } from "./callChatCompletion.js"
export { OpenAiClientLayer, ProviderCallsUntracedLayer } from "./layer.js"
