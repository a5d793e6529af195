/**
 * The embedded OpenAI-compatible mock provider (DESIGN §6): the ground truth of the benchmarks and the provider
 * behind `pnpm start`.
 */
export { completionFor, estimateTokens, type MockChatCompletion, MockChatRequest, promptText } from "./completion.js"
export { jsonSchemaInstance } from "./jsonSchemaInstance.js"
export { type Admission, makeMockGate, type MockGate, type MockGateOptions } from "./MockGate.js"
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
export { makeSlotHandOver, type SlotHandOver, SlotHandOverStats } from "./SlotHandOver.js"
