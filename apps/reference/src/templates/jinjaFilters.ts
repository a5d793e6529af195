// The filters a template may use, written to give Jinja's output (Data Designer prompts are Jinja) rather than
// nunjucks' where the two differ (title, trim, replace, tojson).

const text = (value: unknown): string => (value === undefined || value === null ? "" : String(value))

const hex4 = (code: number) => `\\u${code.toString(16).padStart(4, "0")}`

// Python's `json.dumps` string form with `ensure_ascii=True`: every non-ASCII UTF-16 unit as `\uXXXX`.
const pythonJsonString = (value: string): string =>
  JSON.stringify(value).replace(/[\u0080-\uffff]/g, (c) => hex4(c.charCodeAt(0)))

const pythonNumber = (value: number): string => {
  if (Number.isNaN(value)) return "NaN"
  if (!Number.isFinite(value)) return value > 0 ? "Infinity" : "-Infinity"
  // Python writes exponents with at least two digits: 1e-07, 1e+21.
  return String(value).replace(/e([+-])(\d)$/, "e$10$2")
}

/**
 * `json.dumps(value, sort_keys=True, indent=indent)`, as Jinja's `tojson` calls it: `", "` and `": "` between
 * items (`","` when indented), keys sorted, non-ASCII escaped.
 */
export const pythonJsonDumps = (value: unknown, indent?: number, level = 0): string => {
  if (value === null || value === undefined) return "null"
  if (typeof value === "boolean") return value ? "true" : "false"
  if (typeof value === "number") return pythonNumber(value)
  if (typeof value === "string") return pythonJsonString(value)
  const items: Array<string> = Array.isArray(value)
    ? value.map((item) => pythonJsonDumps(item, indent, level + 1))
    : Object.keys(value as object)
      .sort()
      .map((key) =>
        `${pythonJsonString(key)}: ${pythonJsonDumps((value as Record<string, unknown>)[key], indent, level + 1)}`
      )
  const [open, close] = Array.isArray(value) ? ["[", "]"] : ["{", "}"]
  if (items.length === 0) return `${open}${close}`
  if (indent === undefined) return `${open}${items.join(", ")}${close}`
  const inner = "\n" + " ".repeat(indent * (level + 1))
  return `${open}${inner}${items.join("," + inner)}\n${" ".repeat(indent * level)}${close}`
}

/** Jinja's `tojson`: `json.dumps` with sorted keys, then `<`, `>`, `&`, `'` escaped so it is safe in HTML. */
export const tojson = (value: unknown, indent?: unknown): string =>
  pythonJsonDumps(value, typeof indent === "number" ? indent : undefined)
    .replace(/</g, "\\u003c")
    .replace(/>/g, "\\u003e")
    .replace(/&/g, "\\u0026")
    .replace(/'/g, "\\u0027")

// Jinja's `title`: a word starts after a run of `-`, whitespace, `(`, `{`, `[` or `<`.
const wordBeginning = /([-\s({[<]+)/u

export const title = (value: unknown): string =>
  text(value)
    .split(wordBeginning)
    .filter((item) => item !== "")
    .map((item) => item.charAt(0).toUpperCase() + item.slice(1).toLowerCase())
    .join("")

const escapeRegExp = (value: string) => value.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")

/** Python's `str.strip(chars)`: whitespace, or any of `chars`, from both ends. */
export const trim = (value: unknown, chars?: unknown): string => {
  if (typeof chars !== "string" || chars === "") return text(value).trim()
  const set = `[${escapeRegExp(chars)}]+`
  return text(value).replace(new RegExp(`^${set}|${set}$`, "gu"), "")
}

/** Python's `str.replace(old, new, count)`: every occurrence (or the first `count`), left to right. */
export const replace = (value: unknown, old: unknown, replacement: unknown, count?: unknown): string => {
  const source = text(value)
  const search = text(old)
  const max = typeof count === "number" && count >= 0 ? count : Infinity
  if (search === "") {
    // Python inserts the replacement between every character, and at both ends.
    const parts = [...source]
    let result = ""
    let done = 0
    for (let i = 0; i <= parts.length; i++) {
      if (done < max) {
        result += text(replacement)
        done++
      }
      result += parts[i] ?? ""
    }
    return result
  }
  let result = ""
  let at = 0
  let done = 0
  while (done < max) {
    const found = source.indexOf(search, at)
    if (found < 0) break
    result += source.slice(at, found) + text(replacement)
    at = found + search.length
    done++
  }
  return result + source.slice(at)
}

/** Jinja's `default(value, default_value="", boolean=False)`. */
export const defaultFilter = (value: unknown, fallback: unknown = "", boolean: unknown = false): unknown =>
  value === undefined || (boolean === true && !value) ? fallback : value

export const join = (value: unknown, separator: unknown = "", attribute?: unknown): string => {
  if (!Array.isArray(value)) return text(value)
  const items = typeof attribute === "string"
    ? value.map((
      item
    ) => (typeof item === "object" && item !== null ? (item as Record<string, unknown>)[attribute] : undefined))
    : value
  return items.map(text).join(text(separator))
}

export const length = (value: unknown): number => {
  if (typeof value === "string" || Array.isArray(value)) return value.length
  if (typeof value === "object" && value !== null) return Object.keys(value).length
  return 0
}

/** Every filter a template may use. A template that names another one fails at config check. */
export const jinjaFilters: Readonly<Record<string, (value: unknown, ...args: Array<unknown>) => unknown>> = {
  upper: (value: unknown) => text(value).toUpperCase(),
  lower: (value: unknown) => text(value).toLowerCase(),
  title,
  capitalize: (value: unknown) => {
    const s = text(value)
    return s.charAt(0).toUpperCase() + s.slice(1).toLowerCase()
  },
  trim,
  default: defaultFilter,
  d: defaultFilter,
  join,
  length,
  count: length,
  replace,
  tojson,
  first: (value: unknown) => (Array.isArray(value) || typeof value === "string" ? value[0] : undefined),
  last: (value: unknown) => (Array.isArray(value) || typeof value === "string" ? value[value.length - 1] : undefined)
}
