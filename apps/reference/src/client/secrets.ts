import { redactSecrets } from "@sluice/errors"

// Keeping the API key out of everything an error carries.

/**
 * Replaces every occurrence of the configured key in `text` (keys shorter than 6 characters are left: such a key
 * protects nothing, and replacing it everywhere would mangle messages), and anything shaped like a key — an echoed
 * `Bearer …`, an `sk-…` key, an `api_key: …` value (see `redactSecrets`).
 */
export const scrubSecret = (text: string, secret: Secrets): string =>
  redactSecrets(text, typeof secret === "string" || secret === undefined ? [secret] : secret)

/** What must not appear in an error: the API key, and extra header values (which may be keys too). */
export type Secrets = string | ReadonlyArray<string> | undefined

/**
 * A copy of a transport failure with only what classification and diagnosis need — `name`, `code` and a
 * scrubbed `message`, following `cause` and an `AggregateError`'s `errors` two levels down — so that no request
 * object, header or socket reference rides along inside a `ProviderError`.
 */
export const secretFreeCause = (failure: unknown, secret: Secrets, depth = 0): unknown => {
  if (typeof failure === "string") return scrubSecret(failure, secret)
  if (typeof failure !== "object" || failure === null) return failure
  const source = failure as {
    readonly name?: unknown
    readonly code?: unknown
    readonly message?: unknown
    readonly cause?: unknown
    readonly errors?: unknown
    readonly _tag?: unknown
  }
  const copy = new Error(
    scrubSecret(typeof source.message === "string" ? source.message : String(source._tag ?? "error"), secret)
  )
  copy.name = typeof source.name === "string" ? source.name : typeof source._tag === "string" ? source._tag : "Error"
  if (typeof source.code === "string") Object.assign(copy, { code: source.code })
  if (depth < 2 && source.cause !== undefined) copy.cause = secretFreeCause(source.cause, secret, depth + 1)
  // An AggregateError (one connection attempt per address) says what went wrong in its `errors`.
  if (depth < 2 && Array.isArray(source.errors)) {
    Object.assign(copy, {
      errors: source.errors.slice(0, 8).map((inner: unknown) => secretFreeCause(inner, secret, depth + 1))
    })
  }
  // Stacks name our files, not secrets, but they are noise in a persisted error.
  copy.stack = `${copy.name}: ${copy.message}`
  return copy
}
