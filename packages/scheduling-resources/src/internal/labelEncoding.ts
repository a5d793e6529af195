/**
 * The one escaping rule behind every label of this package.
 *
 * A label joins several name parts with "/". Inside a part, "%" is written "%25" and "/" is written
 * "%2F" (and nothing else is touched), so the encoded part never contains "/" and the encoding is
 * injective: two different lists of parts never produce the same label. Names without "%" or "/"
 * (the usual case) are left as they are, so `openai/gpt-4o` reads as expected.
 *
 * @internal
 */

/** @internal */
export const encodeLabelPart = (part: string): string =>
  part.includes("%") || part.includes("/") ? part.replaceAll("%", "%25").replaceAll("/", "%2F") : part

/**
 * Decodes one encoded part; `undefined` when the part is not the canonical encoding of any name
 * (a raw "/" or a "%" that does not start "%25" or "%2F"), so every accepted label has exactly one
 * spelling.
 *
 * @internal
 */
export const decodeLabelPart = (encoded: string): string | undefined => {
  if (!encoded.includes("%")) return encoded.includes("/") ? undefined : encoded
  const decoded = encoded.replaceAll("%2F", "/").replaceAll("%25", "%")
  return encodeLabelPart(decoded) === encoded ? decoded : undefined
}

/**
 * Splits a label of exactly `count` non-empty encoded parts separated by "/".
 *
 * @internal
 */
export const decodeLabelParts = (label: string, count: number): ReadonlyArray<string> | undefined => {
  const encoded = label.split("/")
  if (encoded.length !== count) return undefined
  const parts: Array<string> = []
  for (const part of encoded) {
    const decoded = decodeLabelPart(part)
    if (decoded === undefined || decoded.length === 0) return undefined
    parts.push(decoded)
  }
  return parts
}
