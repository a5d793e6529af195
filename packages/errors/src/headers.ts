/** Header containers we accept: a plain record (any key case), a `Headers`-like object with `get`. */
export type HeadersInput =
  | Readonly<Record<string, string | ReadonlyArray<string> | undefined>>
  | { readonly get: (name: string) => string | null | undefined }

const hasGet = (headers: HeadersInput): headers is { readonly get: (name: string) => string | null | undefined } =>
  typeof (headers as { readonly get?: unknown }).get === "function"

/** Case-insensitive header lookup; a repeated header gives its first value. */
export const headerValue = (headers: HeadersInput | undefined, name: string): string | undefined => {
  if (headers === undefined) return undefined
  if (hasGet(headers)) return headers.get(name) ?? undefined
  const wanted = name.toLowerCase()
  for (const [key, value] of Object.entries(headers)) {
    if (key.toLowerCase() !== wanted || value === undefined) continue
    return typeof value === "string" ? value : value[0]
  }
  return undefined
}
