import { Effect } from "effect"
import { ProviderError, providerErrorFromUnknown, type ProviderIdentity } from "../ProviderError.js"
import type { RetryAfterOptions } from "../RetryAfter.js"
import { fromAiSdkError, isAiSdkError } from "./aiSdk.js"
import { fromEffectAiError, isEffectAiError, isEffectAiErrorReason } from "./effectAi.js"
import { fromOpenAiError, isOpenAiError } from "./openAi.js"

// `Effect.tryPromise` without a `catch` fails with `Cause.UnknownError`, whose `cause` is what the SDK threw.
const unknownErrorTypeId = "~effect/Cause/UnknownError"

const unwrapUnknownError = (u: unknown): unknown =>
  typeof u === "object" && u !== null && unknownErrorTypeId in u ? (u as { readonly cause?: unknown }).cause : u

/**
 * Classifies whatever an LLM SDK threw, without depending on any SDK: a `ProviderError` passes through; the
 * Vercel AI SDK's errors go to `fromAiSdkError`, `effect/ai`'s `AiError` to `fromEffectAiError`, openai-node's
 * `APIError` family to `fromOpenAiError`; anything else to `providerErrorFromUnknown`. An Effect
 * `Cause.UnknownError` (from `Effect.tryPromise` without `catch`) is looked through.
 */
export const providerErrorFromSdk = (
  error: unknown,
  identity: ProviderIdentity,
  options: RetryAfterOptions = {}
): Effect.Effect<ProviderError> => {
  const failure = unwrapUnknownError(error)
  if (failure instanceof ProviderError) return Effect.succeed(failure)
  if (isAiSdkError(failure)) return fromAiSdkError(failure, identity, options)
  if (isEffectAiError(failure) || isEffectAiErrorReason(failure)) return fromEffectAiError(failure, identity, options)
  if (isOpenAiError(failure)) return fromOpenAiError(failure, identity, options)
  return providerErrorFromUnknown(failure, identity, options)
}
