import { Liquid, type Template as LiquidTemplate } from "liquidjs"
import { Data, Effect, Result } from "effect"

/** A template that failed to parse, or to render against a row. */
export class TemplateError extends Data.TaggedError("TemplateError")<{ readonly message: string }> {}

// One engine for the process: templates are data, never code. `strictFilters` turns a typo in a filter name
// into an error at load time instead of silently printing nothing.
const engine = new Liquid({ strictFilters: true, strictVariables: false, ownPropertyOnly: true })

export interface CompiledTemplate {
  readonly source: string
  /** The row fields the template reads (root names of `{{ column }}` / `{{ column.field }}`), sorted. */
  readonly references: ReadonlyArray<string>
  readonly parsed: Array<LiquidTemplate>
  /**
   * For a template that is only literal text and bare `{{ name }}` outputs: the text around the outputs
   * (`literals.length === names.length + 1`). Rendering it against string values needs no Liquid engine.
   */
  readonly simple?: { readonly literals: ReadonlyArray<string>; readonly names: ReadonlyArray<string> } | undefined
}

const describe = (failure: unknown): string => (failure instanceof Error ? failure.message : String(failure))

// `{{ name }}` with a plain identifier, no filters, no properties, no whitespace control. Liquid reads these
// names as literals, not variables, so they never take the simple path.
const bareOutput = /\{\{[ \t\r\n]*([A-Za-z_][A-Za-z0-9_]*)[ \t\r\n]*\}\}/g
const literalNames = new Set(["true", "false", "nil", "null", "empty", "blank"])

const simpleForm = (source: string): CompiledTemplate["simple"] => {
  const literals: Array<string> = []
  const names: Array<string> = []
  let at = 0
  for (const match of source.matchAll(bareOutput)) {
    if (literalNames.has(match[1]!)) return undefined
    literals.push(source.slice(at, match.index))
    names.push(match[1]!)
    at = match.index + match[0].length
  }
  literals.push(source.slice(at))
  // Any other tag or output (filters, properties, `{%`, `{{-`) leaves the template to the engine.
  return literals.some((text) => text.includes("{{") || text.includes("{%")) ? undefined : { literals, names }
}

/** Parses a template and lists the columns it references, so dependencies come from the references themselves. */
export const compileTemplate = (source: string): Result.Result<CompiledTemplate, TemplateError> =>
  Result.try({
    try: () => {
      const parsed = engine.parse(source)
      const references = [...new Set(engine.globalVariablesSync(parsed))].sort()
      return { source, references, parsed, simple: simpleForm(source) }
    },
    catch: (failure) => new TemplateError({ message: `template syntax error: ${describe(failure)}` })
  })

// The simple path: every referenced value is an own string field, which Liquid prints as it is. Anything else
// (numbers, objects, missing fields…) goes to the engine, so the output is the engine's in every case.
const renderSimple = (
  simple: NonNullable<CompiledTemplate["simple"]>,
  row: Readonly<Record<string, unknown>>
): string | undefined => {
  let text = simple.literals[0]!
  for (let i = 0; i < simple.names.length; i++) {
    const name = simple.names[i]!
    const value = Object.hasOwn(row, name) ? row[name] : undefined
    if (typeof value !== "string") return undefined
    text += value + simple.literals[i + 1]!
  }
  return text
}

/** Renders a compiled template against one row. Objects render as JSON (so a structured column reads well). */
export const renderTemplate = (
  template: CompiledTemplate,
  row: Readonly<Record<string, unknown>>
): Effect.Effect<string, TemplateError> => {
  const simple = template.simple === undefined ? undefined : renderSimple(template.simple, row)
  return simple !== undefined ? Effect.succeed(simple) : Effect.try({
    try: () => String(engine.renderSync(template.parsed, jsonReadyScope(row))),
    catch: (failure) => new TemplateError({ message: `template render failed: ${describe(failure)}` })
  })
}

// Liquid prints objects as "[object Object]"; give objects a JSON `toString` without changing their fields.
const jsonReadyScope = (row: Readonly<Record<string, unknown>>): Record<string, unknown> => {
  const scope: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(row)) scope[key] = toPrintable(value)
  return scope
}

const toPrintable = (value: unknown): unknown => {
  if (value === null || typeof value !== "object") return value
  if (Array.isArray(value)) return value.map(toPrintable)
  const printable: Record<string, unknown> = {}
  for (const [key, field] of Object.entries(value)) printable[key] = toPrintable(field)
  Object.defineProperty(printable, "toString", { value: () => JSON.stringify(value), enumerable: false })
  return printable
}
