import nunjucks from "nunjucks"
import { Data, Effect, Result } from "effect"
import { jinjaFilters } from "./jinjaFilters.js"

/** A template that failed to parse, or to render against a row. */
export class TemplateError extends Data.TaggedError("TemplateError")<{ readonly message: string }> {}

// Templates are Jinja, as Data Designer's prompts are, rendered by nunjucks (a Jinja implementation for
// JavaScript) in an environment with no loader: nothing a template says can reach the file system. Every template
// is also checked node by node before it is accepted (see `checkNode`): `include`, `import`, `extends`, macros and
// function calls are refused, and only the filters of `jinjaFilters` exist.
const environment = new nunjucks.Environment([], { autoescape: false, throwOnUndefined: false })
for (const [name, filter] of Object.entries(jinjaFilters)) environment.addFilter(name, filter)

// The parser is part of nunjucks' public object, though its typings leave it out.
interface Node {
  readonly typename: string
  readonly fields: ReadonlyArray<string>
  readonly lineno?: number
  readonly colno?: number
  readonly [field: string]: unknown
}
const parser = (nunjucks as unknown as { readonly parser: { parse: (source: string) => Node } }).parser

export interface CompiledTemplate {
  readonly source: string
  /** The row fields the template reads (root names of `{{ column }}` / `{{ column.field }}`), sorted. */
  readonly references: ReadonlyArray<string>
  readonly compiled: nunjucks.Template
  /**
   * For a template that is only literal text and bare `{{ name }}` outputs: the text around the outputs
   * (`literals.length === names.length + 1`). Rendering it against string values needs no engine.
   */
  readonly simple?: { readonly literals: ReadonlyArray<string>; readonly names: ReadonlyArray<string> } | undefined
}

const describe = (failure: unknown): string =>
  (failure instanceof Error ? failure.message : String(failure))
    .replace(/^\(unknown path\)\s*/, "")
    .replace(/\s*\n\s*/g, " ")
    .trim()

const supportedFilters = Object.keys(jinjaFilters).sort()
const supportedTests = new Set(["defined", "undefined", "none", "number", "string", "odd", "even", "divisibleby"])

// Node types a template may contain: text, outputs, values, operators, `if`, `for`, `set`.
const allowedNodes = new Set([
  "Root",
  "NodeList",
  "Output",
  "TemplateData",
  "Literal",
  "Symbol",
  "Group",
  "Array",
  "Dict",
  "Pair",
  "LookupVal",
  "If",
  "InlineIf",
  "For",
  "Set",
  "Capture",
  "Filter",
  "KeywordArgs",
  "Compare",
  "CompareOperand",
  "In",
  "Is",
  "Or",
  "And",
  "Not",
  "Add",
  "Concat",
  "Sub",
  "Mul",
  "Div",
  "FloorDiv",
  "Mod",
  "Pow",
  "Neg",
  "Pos"
])

const refusedTags: Readonly<Record<string, string>> = {
  Include: "include",
  Extends: "extends",
  Import: "import",
  FromImport: "from … import",
  Macro: "macro",
  Caller: "call",
  Block: "block",
  Super: "super",
  Switch: "switch",
  CallExtension: "an extension tag",
  CallExtensionAsync: "an extension tag"
}

// Property names that lead out of the row's data into JavaScript's objects.
const forbiddenProperties = new Set(["constructor", "__proto__", "prototype", "__defineGetter__", "__lookupGetter__"])

const at = (node: Node) => (node.lineno === undefined ? "" : ` (line ${node.lineno + 1})`)

const symbolName = (node: unknown): string | undefined =>
  typeof node === "object" && node !== null && (node as Node).typename === "Symbol"
    ? String((node as Node)["value"])
    : undefined

const childrenOf = (node: Node): ReadonlyArray<Node> => {
  const children: Array<Node> = []
  const add = (value: unknown) => {
    if (Array.isArray(value)) { for (const item of value) add(item) }
    else if (typeof value === "object" && value !== null && "typename" in value) children.push(value as Node)
  }
  for (const field of node.fields) add(node[field])
  // `{% set x %}…{% endset %}` keeps its body outside the node's declared fields.
  if (node.typename === "Set") add(node["body"])
  return children
}

/**
 * Checks a parsed template and collects the names it reads from the row. Names a `for` or `set` binds are not
 * references where they are bound; everything else a template names at its root is a column.
 */
const analyse = (root: Node): { readonly problems: ReadonlyArray<string>; readonly references: Set<string> } => {
  const problems: Array<string> = []
  const references = new Set<string>()
  const visit = (node: Node, bound: Set<string>): void => {
    const refused = refusedTags[node.typename]
    if (refused !== undefined) {
      problems.push(`unsupported tag \`${refused}\`${at(node)}: templates cannot read files or define macros`)
      return
    }
    if (node.typename === "FunCall") {
      problems.push(`function calls are not supported${at(node)}; use a filter (\`{{ x | upper }}\`)`)
      return
    }
    if (!allowedNodes.has(node.typename)) {
      problems.push(`unsupported construct ${node.typename}${at(node)}`)
      return
    }
    switch (node.typename) {
      case "Symbol": {
        const name = String(node["value"])
        if (!bound.has(name)) references.add(name)
        return
      }
      case "Filter": {
        const name = symbolName(node["name"]) ?? "?"
        if (!Object.hasOwn(jinjaFilters, name)) {
          problems.push(`unknown filter \`${name}\`${at(node)}; supported: ${supportedFilters.join(", ")}`)
        }
        for (const child of childrenOf(node["args"] as Node)) visit(child, bound)
        return
      }
      case "Is": {
        visit(node["left"] as Node, bound)
        const right = node["right"] as Node
        const test = symbolName(right) ?? symbolName(right["name"])
        if (test === undefined || !supportedTests.has(test)) {
          problems.push(`unknown test \`${test ?? "?"}\`${at(node)}; supported: ${[...supportedTests].join(", ")}`)
        }
        if (right.typename === "FunCall") { for (const child of childrenOf(right["args"] as Node)) visit(child, bound) }
        return
      }
      case "LookupVal": {
        visit(node["target"] as Node, bound)
        const key = node["val"] as Node
        if (key.typename === "Literal" && forbiddenProperties.has(String(key["value"]))) {
          problems.push(`the property \`${String(key["value"])}\` cannot be read${at(node)}`)
          return
        }
        if (key.typename !== "Literal") visit(key, bound)
        return
      }
      case "Pair": {
        // A dict literal's key is a name, not a column.
        visit(node["value"] as Node, bound)
        const key = node["key"] as Node
        if (key.typename !== "Symbol") visit(key, bound)
        return
      }
      case "KeywordArgs": {
        for (const pair of childrenOf(node)) visit(pair["value"] as Node, bound)
        return
      }
      case "For": {
        visit(node["arr"] as Node, bound)
        const inner = new Set(bound)
        inner.add("loop")
        const name = node["name"] as Node
        for (const target of name.typename === "Array" ? childrenOf(name) : [name]) {
          const bind = symbolName(target)
          if (bind !== undefined) inner.add(bind)
        }
        if (node["body"] !== undefined && node["body"] !== null) visit(node["body"] as Node, inner)
        if (node["else_"] !== undefined && node["else_"] !== null) visit(node["else_"] as Node, bound)
        return
      }
      case "Set": {
        if (node["value"] !== undefined && node["value"] !== null) visit(node["value"] as Node, bound)
        if (node["body"] !== undefined && node["body"] !== null) visit(node["body"] as Node, bound)
        for (const target of (node["targets"] as ReadonlyArray<Node>) ?? []) {
          const bind = symbolName(target)
          if (bind !== undefined) bound.add(bind)
        }
        return
      }
      default:
        for (const child of childrenOf(node)) visit(child, bound)
    }
  }
  visit(root, new Set())
  return { problems, references }
}

// `{{ name }}` with a plain identifier, no filters, no properties, no whitespace control.
const bareOutput = /\{\{[ \t\r\n]*([A-Za-z_][A-Za-z0-9_]*)[ \t\r\n]*\}\}/g
const literalNames = new Set(["true", "false", "True", "False", "none", "None", "null"])

const simpleForm = (source: string): CompiledTemplate["simple"] => {
  const literals: Array<string> = []
  const names: Array<string> = []
  let position = 0
  for (const match of source.matchAll(bareOutput)) {
    if (literalNames.has(match[1]!)) return undefined
    literals.push(source.slice(position, match.index))
    names.push(match[1]!)
    position = match.index + match[0].length
  }
  literals.push(source.slice(position))
  // Any other tag, output or comment leaves the template to the engine.
  return literals.some((text) => text.includes("{{") || text.includes("{%") || text.includes("{#"))
    ? undefined
    : { literals, names }
}

const syntaxError = (message: string) => new TemplateError({ message: `template syntax error: ${message}` })

/**
 * Parses and checks a template and lists the columns it references, so dependencies come from the references
 * themselves. As in Jinja, one trailing newline of the source is not part of the output.
 */
export const compileTemplate = (written: string): Result.Result<CompiledTemplate, TemplateError> => {
  const source = written.endsWith("\n") ? written.slice(0, -1) : written
  const parsed = Result.try({ try: () => parser.parse(source), catch: (failure) => syntaxError(describe(failure)) })
  if (Result.isFailure(parsed)) return Result.fail(parsed.failure)
  const { problems, references } = analyse(parsed.success)
  if (problems.length > 0) return Result.fail(new TemplateError({ message: problems.join("; ") }))
  return Result.try({
    try: () => ({
      source,
      references: [...references].sort(),
      compiled: new nunjucks.Template(source, environment, undefined, true),
      simple: simpleForm(source)
    }),
    catch: (failure) => syntaxError(describe(failure))
  })
}

// The simple path: every referenced value is an own string field, which the engine prints as it is. Anything
// else (numbers, objects, missing fields…) goes to the engine, so the output is the engine's in every case.
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

/** Renders a compiled template against one row. Objects and lists print as JSON (a structured column reads well). */
export const renderTemplate = (
  template: CompiledTemplate,
  row: Readonly<Record<string, unknown>>
): Effect.Effect<string, TemplateError> => {
  const simple = template.simple === undefined ? undefined : renderSimple(template.simple, row)
  return simple !== undefined ? Effect.succeed(simple) : Effect.try({
    try: () => template.compiled.render(jsonReadyScope(row)),
    catch: (failure) => new TemplateError({ message: `template render failed: ${describe(failure)}` })
  })
}

/** `renderTemplate`, synchronously: for callers that must answer at once (a skip condition, a row filter). */
export const renderTemplateResult = (
  template: CompiledTemplate,
  row: Readonly<Record<string, unknown>>
): Result.Result<string, TemplateError> => {
  const simple = template.simple === undefined ? undefined : renderSimple(template.simple, row)
  return simple !== undefined ? Result.succeed(simple) : Result.try({
    try: () => template.compiled.render(jsonReadyScope(row)),
    catch: (failure) => new TemplateError({ message: `template render failed: ${describe(failure)}` })
  })
}

// The engine prints objects as "[object Object]" and lists as "a,b": give them a JSON `toString` without
// changing their fields, so filters and lookups see the same data.
const jsonReadyScope = (row: Readonly<Record<string, unknown>>): Record<string, unknown> => {
  const scope: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(row)) scope[key] = toPrintable(value)
  return scope
}

const toPrintable = (value: unknown): unknown => {
  if (value === null || typeof value !== "object") return value
  const printable: unknown = Array.isArray(value) ? value.map(toPrintable) : Object.fromEntries(
    Object.entries(value).map(([key, field]) => [key, toPrintable(field)])
  )
  Object.defineProperty(printable, "toString", { value: () => JSON.stringify(value), enumerable: false })
  return printable
}
