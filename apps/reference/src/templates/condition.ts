import { Result } from "effect"
import { type CompiledTemplate, renderTemplateResult, type TemplateError } from "./Template.js"

// Conditions (`skip.when`, a filter processor's `when`) are Jinja expressions over a row, rendered by the same
// sandboxed templates as prompts. A bare expression (`rating < 3`) and a template (`{{ rating < 3 }}`) mean the same.

/** The template source of a condition: a bare expression is wrapped in `{{ … }}`. */
export const conditionSource = (when: string): string =>
  when.includes("{{") || when.includes("{%") ? when : `{{ ${when} }}`

// What a rendered condition reads as false (compared trimmed, case-insensitively); anything else is true.
const falsy = new Set(["", "false", "0", "none", "null", "undefined"])

/** Whether a rendered condition holds: anything but empty text, `false`, `0`, `none`, `null` or `undefined`. */
export const isTruthy = (rendered: string): boolean => !falsy.has(rendered.trim().toLowerCase())

/** Evaluates a compiled condition against one row. */
export const evaluateCondition = (
  template: CompiledTemplate,
  row: Readonly<Record<string, unknown>>
): Result.Result<boolean, TemplateError> => Result.map(renderTemplateResult(template, row), isTruthy)
