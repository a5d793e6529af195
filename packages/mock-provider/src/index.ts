/**
 * `@sluice/mock-provider`: an OpenAI-compatible chat-completions server with a fixed capacity, seeded latency,
 * 429 + Retry-After beyond capacity, an optional requests-per-minute bucket, seeded server errors and hung
 * requests, and deterministic completions with `usage`. The ground truth of Sluice's benchmarks and the provider
 * behind `pnpm start`.
 *
 * @since 0.1.0
 */
export { countTokens, type MockChatCompletion, MockChatRequest } from "./completion.js"
export {
  decodeMockOptions,
  defaultMockOptions,
  MockLatency,
  MockOptions,
  type MockOptionsInput
} from "./MockOptions.js"
export { MockProvider, type MockProviderHandle, runMockProviderForever, startMockProvider } from "./MockProvider.js"
export { MockProviderError } from "./MockProviderError.js"
export { MockStats } from "./MockStats.js"
export { SlotHandOverStats } from "./SlotHandOver.js"
