// Keys shorter than this are not replaced: replacing a two-letter "key" everywhere would mangle messages, and such
// a key protects nothing anyway.
const minSecretLength = 6

// What API keys look like in the text a provider or a proxy sends back: an echoed Authorization header, OpenAI-style
// `sk-…` keys (whole or masked as `sk-abc***xyz`), and `api_key: …` / `x-api-key=…` pairs.
const keyShapes: ReadonlyArray<readonly [RegExp, string]> = [
  [/\bBearer\s+[^\s"',;]+/gi, "Bearer [redacted]"],
  [/\bsk-[\w*-]{6,}/g, "sk-[redacted]"],
  [/\b((?:x-)?api[_-]?key["']?\s*[:=]\s*["']?)[^\s"',;}]{6,}/gi, "$1[redacted]"]
]

/**
 * Removes API keys from a message before it is stored or shown: every occurrence of the given secrets (e.g. the
 * configured key), echoed `Bearer …` tokens, `sk-…` keys and `api_key: …` values. Every message `@sluice/errors`
 * builds from a provider's body or a transport failure goes through it.
 */
export const redactSecrets = (text: string, secrets: ReadonlyArray<string | undefined> = []): string => {
  let redacted = text
  for (const secret of secrets) {
    if (secret !== undefined && secret.length >= minSecretLength && redacted.includes(secret)) {
      redacted = redacted.split(secret).join("[redacted]")
    }
  }
  for (const [shape, replacement] of keyShapes) redacted = redacted.replace(shape, replacement)
  return redacted
}
