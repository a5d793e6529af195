/**
 * The OpenAI-compatible chat-completions client: one attempt per call, typed `ProviderError` failures, the API
 * key kept `Redacted`. Provide the transport with `OpenAiClientLayer` (undici, see `ProviderTransport`).
 */
export { type ChatCompletionCall, chatCompletion, makeChatCompletion } from "./callChatCompletion.js"
export {
  type ChatCompletion,
  type ChatCompletionRequest,
  ChatCompletionWire,
  type ChatMessage,
  type ResponseFormat,
  type TokenUsage
} from "./ChatCompletion.js"
export { OpenAiClientLayer } from "./layer.js"
export {
  ProviderTransport,
  type ProviderTransportShape,
  TransportError,
  type TransportResponse,
  TransportTarget,
  TransportTimeout
} from "./ProviderTransport.js"
