// Provider messages end up in `summary.json`, `dropped.jsonl` and on stderr. Some providers quote the key they
// were sent ("Incorrect API key provided: sk-…"); this removes keys before a message is kept anywhere.

const minSecretLength = 6
const maxMessageLength = 300

const patterns: ReadonlyArray<readonly [RegExp, string]> = [
  // Authorization headers echoed back.
  [/\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=*-]+/gi, "$1 [redacted]"],
  // Key-shaped tokens: OpenAI-style `sk-…` (also masked as `sk-proj-****abcd`), and similar prefixes.
  [/\b(?:sk|pk|rk|ak)-[A-Za-z0-9_*-]{6,}/g, "[redacted]"],
  // `api_key=…`, `"token": "…"`, `x-api-key: …`.
  [/\b((?:x-)?api[_-]?key|access[_-]?token|token|secret)(["']?\s*[:=]\s*["']?)[A-Za-z0-9._*-]{6,}/gi, "$1$2[redacted]"]
]

/** `text` without the given secrets or anything shaped like a key, on one line, at most 300 characters. */
export const redactSecrets = (text: string, secrets: ReadonlyArray<string> = []): string => {
  let out = text
  for (const secret of secrets) {
    if (secret.length >= minSecretLength && out.includes(secret)) out = out.split(secret).join("[redacted]")
  }
  for (const [pattern, replacement] of patterns) out = out.replace(pattern, replacement)
  out = out.replace(/\s+/g, " ").trim()
  return out.length > maxMessageLength ? `${out.slice(0, maxMessageLength - 1)}…` : out
}
