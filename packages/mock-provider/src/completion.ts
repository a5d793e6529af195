import { Effect, Random, Schema } from "effect"
import { type Draws, drawOne, hash53 } from "./hash.js"
import { jsonSchemaInstance } from "./jsonSchemaInstance.js"

/** The part of an OpenAI chat-completions request the mock reads; other fields are accepted and ignored. */
export const MockChatRequest = Schema.Struct({
  model: Schema.String,
  messages: Schema.Array(Schema.Struct({
    role: Schema.String,
    // A string, an array of content parts (`{ type: "text", text }`), or null (assistant tool calls).
    content: Schema.optional(Schema.NullOr(Schema.Union([Schema.String, Schema.Array(Schema.Unknown)])))
  })),
  max_tokens: Schema.optional(Schema.NullOr(Schema.Finite)),
  max_completion_tokens: Schema.optional(Schema.NullOr(Schema.Finite)),
  response_format: Schema.optional(Schema.Unknown)
})
export type MockChatRequest = typeof MockChatRequest.Type

/** The body of a successful answer, in the OpenAI chat-completions shape. */
export interface MockChatCompletion {
  readonly id: string
  readonly object: "chat.completion"
  readonly created: number
  readonly model: string
  readonly choices: ReadonlyArray<{
    readonly index: number
    readonly message: { readonly role: "assistant"; readonly content: string }
    readonly finish_reason: "stop" | "length"
  }>
  readonly usage: { readonly prompt_tokens: number; readonly completion_tokens: number; readonly total_tokens: number }
}

// The mock's tokens: each run of letters, digits and `_` is one token, and so is each other character that is not
// whitespace. Exact by construction: `usage` counts them, and `max_tokens` cuts an answer after that many.
const tokenPattern = /[\p{L}\p{N}_]+|[^\s\p{L}\p{N}_]/gu

/** The mock's token count of a text (see `tokenPattern`), the same for prompts and completions. */
export const countTokens = (text: string): number => text.match(tokenPattern)?.length ?? 0

const textOfContent = (content: MockChatRequest["messages"][number]["content"]): string => {
  if (typeof content === "string") return content
  if (content === null || content === undefined) return ""
  return content
    .map((part) =>
      typeof part === "object" && part !== null && typeof (part as { readonly text?: unknown }).text === "string"
        ? (part as { readonly text: string }).text
        : ""
    )
    .join(" ")
}

/** The prompt as one string: every message's text, in order. */
export const promptText = (request: MockChatRequest): string =>
  request.messages.map((message) => textOfContent(message.content)).join("\n")

const stopWords = new Set([
  "about",
  "after",
  "also",
  "been",
  "being",
  "from",
  "have",
  "into",
  "just",
  "more",
  "most",
  "only",
  "over",
  "some",
  "such",
  "than",
  "that",
  "their",
  "them",
  "then",
  "there",
  "these",
  "they",
  "this",
  "those",
  "very",
  "what",
  "when",
  "which",
  "while",
  "with",
  "would",
  "your",
  "write",
  "short",
  "please",
  "return",
  "answer",
  "given"
])

const openers = ["Here is a take on", "A quick note on", "Thinking about", "On the subject of", "Regarding", "Consider"]
const adjectives = [
  "sturdy",
  "elegant",
  "reliable",
  "surprising",
  "thoughtful",
  "compact",
  "vivid",
  "practical",
  "gentle",
  "bold",
  "curious",
  "balanced",
  "quiet",
  "bright",
  "careful",
  "honest"
]
const nouns = [
  "design",
  "choice",
  "story",
  "detail",
  "option",
  "pattern",
  "result",
  "idea",
  "approach",
  "feature",
  "outcome",
  "angle",
  "method",
  "insight",
  "variant",
  "habit"
]
const verbs = ["holds up", "stands out", "works well", "feels right", "pays off", "wears well", "keeps going", "fits"]
const adverbs = ["in daily use", "over time", "for most people", "under pressure", "in practice", "at first glance"]

// Words of the prompt worth echoing: the first few distinct non-trivial ones, in prompt order.
const promptKeywords = (prompt: string): ReadonlyArray<string> => {
  const seen = new Set<string>()
  for (const word of prompt.toLowerCase().match(/\p{L}[\p{L}'-]{3,}/gu) ?? []) {
    if (!stopWords.has(word)) seen.add(word)
    if (seen.size >= 8) break
  }
  return [...seen]
}

const sentenceFor = (prompt: string, draws: Draws): string => {
  const keywords = promptKeywords(prompt)
  const picked = keywords.filter(() => draws.nextDoubleUnsafe() < 0.6).slice(0, 3)
  const mentioned = picked.length > 0 ? picked : keywords.slice(0, 1)
  const subject = mentioned.length === 0
    ? "your request"
    : mentioned.length === 1
    ? mentioned[0]!
    : `${mentioned.slice(0, -1).join(", ")} and ${mentioned[mentioned.length - 1]!}`
  return `${drawOne(draws, openers)} ${subject}: a ${drawOne(draws, adjectives)} ${drawOne(draws, nouns)} that ${
    drawOne(draws, verbs)
  } ${drawOne(draws, adverbs)}.`
}

/** The text up to the end of its `maxTokens`-th token. */
const truncateToTokens = (text: string, maxTokens: number): string => {
  let count = 0
  for (const token of text.matchAll(tokenPattern)) {
    if (++count === maxTokens) return text.slice(0, token.index + token[0].length)
  }
  return text
}

const isRecord = (u: unknown): u is { readonly [key: string]: unknown } => typeof u === "object" && u !== null

type RequestedFormat =
  | { readonly _tag: "JsonSchema"; readonly schema: unknown }
  | { readonly _tag: "JsonObject" }

// `{ type: "json_schema", json_schema: { schema } }` → an instance of that schema; `{ type: "json_object" }` → any
// JSON object; anything else → plain text.
const requestedFormat = (responseFormat: unknown): RequestedFormat | undefined => {
  if (!isRecord(responseFormat)) return undefined
  if (responseFormat.type === "json_schema" && isRecord(responseFormat.json_schema)) {
    return { _tag: "JsonSchema", schema: responseFormat.json_schema.schema ?? { type: "object" } }
  }
  if (responseFormat.type === "json_object") return { _tag: "JsonObject" }
  return undefined
}

/**
 * The answer to one request: a pure function of (seed, model, messages, response_format, max tokens). Its draws
 * come from a generator seeded with a hash of those inputs, so the order in which requests arrive does not matter.
 */
export const completionFor = Effect.fnUntraced(function*(seed: number, request: MockChatRequest) {
  const prompt = promptText(request)
  const format = requestedFormat(request.response_format)
  const key = hash53(JSON.stringify([request.model, prompt, format ?? null]), seed)
  const draws = yield* Random.Random.pipe(Random.withSeed(key))
  const maxTokens = request.max_completion_tokens ?? request.max_tokens ?? undefined
  let content: string
  let finishReason: "stop" | "length" = "stop"
  if (format?._tag === "JsonSchema") {
    content = JSON.stringify(jsonSchemaInstance(format.schema, draws))
  } else if (format?._tag === "JsonObject") {
    content = JSON.stringify({ response: sentenceFor(prompt, draws) })
  } else {
    content = sentenceFor(prompt, draws)
    if (draws.nextDoubleUnsafe() < 0.5) content += ` ${sentenceFor(prompt, draws)}`
  }
  // Any answer longer than the limit is cut there, JSON included (it is then no longer valid JSON, as with a
  // real provider), and says so.
  if (maxTokens !== undefined && maxTokens >= 1 && countTokens(content) > maxTokens) {
    content = truncateToTokens(content, Math.floor(maxTokens))
    finishReason = "length"
  }
  const promptTokens = countTokens(prompt)
  const completionTokens = countTokens(content)
  const completion: MockChatCompletion = {
    id: `chatcmpl-mock-${key.toString(36)}`,
    object: "chat.completion",
    // Derived from the seed, never the wall clock: the same inputs give byte-identical answers.
    created: 1_700_000_000 + (hash53(String(seed)) % 10_000_000),
    model: request.model,
    choices: [{ index: 0, message: { role: "assistant", content }, finish_reason: finishReason }],
    usage: {
      prompt_tokens: promptTokens,
      completion_tokens: completionTokens,
      total_tokens: promptTokens + completionTokens
    }
  }
  return completion
})
