import { conditionSource } from "../templates/condition.js"
import { compileTemplate, type CompiledTemplate } from "../templates/Template.js"
import type { ResolvedColumn } from "./checkReferences.js"
import type { ConfigIssue } from "./ConfigError.js"
import type { ProcessorConfig } from "./conditionalSchema.js"

/** A processor whose `when` compiled and whose references exist (and, before the batch, are seed columns). */
export interface ResolvedProcessor {
  readonly config: ProcessorConfig
  readonly when: CompiledTemplate
}

/**
 * Seed columns: no references and no model (samplers, constant templates). They are the only columns generated
 * before a row group's pre-batch processors run.
 */
export const isSeedColumn = (column: ResolvedColumn): boolean =>
  column.dependencies.length === 0 && !("model" in column.config)

/**
 * Checks the processors: names are unique, each `when` parses and reads only existing columns — only seed columns
 * for a `pre-batch` processor, since nothing else exists yet when it runs. Every issue names its path.
 */
export const checkProcessors = (
  processors: ReadonlyArray<ProcessorConfig>,
  columns: ReadonlyArray<ResolvedColumn>
): { readonly issues: ReadonlyArray<ConfigIssue>; readonly processors: ReadonlyArray<ResolvedProcessor> } => {
  const issues: Array<ConfigIssue> = []
  const resolved: Array<ResolvedProcessor> = []
  const byOutput = new Map(columns.flatMap((column) => column.outputs.map((output) => [output, column] as const)))
  const names = new Set<string>()
  processors.forEach((processor, index) => {
    const path = `processors[${index}]`
    if (names.has(processor.name)) {
      issues.push({ path: `${path}.name`, problem: `duplicate processor "${processor.name}"` })
    }
    names.add(processor.name)
    const compiled = compileTemplate(conditionSource(processor.when))
    if (compiled._tag === "Failure") {
      issues.push({ path: `${path}.when`, problem: compiled.failure.message })
      return
    }
    for (const reference of compiled.success.references) {
      const column = byOutput.get(reference)
      if (column === undefined) {
        issues.push({ path: `${path}.when`, problem: `unknown column "${reference}"` })
      } else if (processor.stage === "pre-batch" && !isSeedColumn(column)) {
        issues.push({
          path: `${path}.when`,
          problem: `a pre-batch processor runs before column "${reference}" is generated (only columns with no ` +
            `references and no model exist then); use stage: post-batch`
        })
      }
    }
    resolved.push({ config: processor, when: compiled.success })
  })
  return { issues, processors: resolved }
}
