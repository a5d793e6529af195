/**
 * The OpenAI-compatible chat-completions client: one attempt per call, typed `ProviderError` failures, the API
 * key kept `Redacted`. Provide the transport with `OpenAiClientLayer` (undici, see `ProviderTransport`).
 */
export {
  type ChatCompletionCall,
  chatCompletion,
  isNoTextAtTokenLimit,
  makeChatCompletion
} from "./callChatCompletion.js"
export {
  type ChatCompletion,
  type ChatCompletionRequest,
  ChatCompletionWire,
  type ChatMessage,
  defaultMaxResponseBytes,
  type ResponseFormat,
  type TokenUsage
} from "./ChatCompletion.js"
export { OpenAiClientLayer } from "./layer.js"
export {
  ProviderTransport,
  type ProviderTransportShape,
  TransportError,
  type TransportFailure,
  type TransportResponse,
  TransportResponseTooLarge,
  TransportTarget,
  TransportTimeout
} from "./ProviderTransport.js"
