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
}

const describe = (failure: unknown): string => (failure instanceof Error ? failure.message : String(failure))

/** Parses a template and lists the columns it references, so dependencies come from the references themselves. */
export const compileTemplate = (source: string): Result.Result<CompiledTemplate, TemplateError> =>
  Result.try({
    try: () => {
      const parsed = engine.parse(source)
      const references = [...new Set(engine.globalVariablesSync(parsed))].sort()
      return { source, references, parsed }
    },
    catch: (failure) => new TemplateError({ message: `template syntax error: ${describe(failure)}` })
  })

/** Renders a compiled template against one row. Objects render as JSON (so a structured column reads well). */
export const renderTemplate = (template: CompiledTemplate, row: Readonly<Record<string, unknown>>) =>
  Effect.try({
    try: () => String(engine.renderSync(template.parsed, jsonReadyScope(row))),
    catch: (failure) => new TemplateError({ message: `template render failed: ${describe(failure)}` })
  })

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
