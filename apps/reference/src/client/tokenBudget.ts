/**
 * What a chat-completions call costs a `tokensPerMinute` budget: an estimate before the call (prompt characters / 4,
 * the usual rule of thumb for English with OpenAI tokenizers, plus the answer's token limit), and the real count
 * from the answer's `usage` after it, which replaces the estimate.
 */
import type { RequestUsage } from "@sluice/request-admission"
import type { ChatCompletion, ChatCompletionRequest } from "./ChatCompletion.js"

/** Characters per token assumed for the prompt. */
const CHARS_PER_TOKEN = 4

/** The tokens a request is expected to use: its prompt's characters / 4 plus its answer's token limit (if it sets one). */
export const estimateTokens = (request: ChatCompletionRequest): number => {
  let chars = 0
  for (const message of request.messages) chars += message.content.length
  return Math.ceil(chars / CHARS_PER_TOKEN) + (request.maxCompletionTokens ?? request.maxTokens ?? 0)
}

/** The answer's `usage`, as the release reports it (`undefined` when the provider sent none: the estimate stands). */
export const usageOfCompletion = (completion: ChatCompletion): RequestUsage | undefined =>
  completion.usage === undefined ? undefined : { totalTokens: completion.usage.totalTokens }
