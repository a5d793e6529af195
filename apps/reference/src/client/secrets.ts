// Keeping the API key out of everything an error carries. Keys shorter than this are not scrubbed: replacing a
// two-letter "key" everywhere would mangle messages, and such a key protects nothing anyway.
const minScrubbedLength = 6

/** Replaces every occurrence of the secret in `text`. */
export const scrubSecret = (text: string, secret: string | undefined): string =>
  secret === undefined || secret.length < minScrubbedLength || !text.includes(secret)
    ? text
    : text.split(secret).join("[redacted]")

/**
 * A copy of a transport failure with only what classification and diagnosis need — `name`, `code` and a
 * scrubbed `message`, following `cause` two levels down — so that no request object, header or socket
 * reference rides along inside a `ProviderError`.
 */
export const secretFreeCause = (failure: unknown, secret: string | undefined, depth = 0): unknown => {
  if (typeof failure === "string") return scrubSecret(failure, secret)
  if (typeof failure !== "object" || failure === null) return failure
  const source = failure as {
    readonly name?: unknown
    readonly code?: unknown
    readonly message?: unknown
    readonly cause?: unknown
    readonly _tag?: unknown
  }
  const copy = new Error(
    scrubSecret(typeof source.message === "string" ? source.message : String(source._tag ?? "error"), secret)
  )
  copy.name = typeof source.name === "string" ? source.name : typeof source._tag === "string" ? source._tag : "Error"
  if (typeof source.code === "string") Object.assign(copy, { code: source.code })
  if (depth < 2 && source.cause !== undefined) copy.cause = secretFreeCause(source.cause, secret, depth + 1)
  // Stacks name our files, not secrets, but they are noise in a persisted error.
  copy.stack = `${copy.name}: ${copy.message}`
  return copy
}
