import { Effect, Schema } from "effect"

// The config of conditional generation (`columns[].skip`) and of row processors (`processors`). Every field carries
// a description (and its default): `sluice schema` and the README's config reference are generated from them.

const Expression = Schema.NonEmptyString

export const SkipConfig = Schema.Struct({
  when: Expression.annotate({
    description: "A Jinja expression over the row's columns (`{{ … }}` optional): where it is true the cell is " +
      "skipped — written as `null`, no model called — and so are the cells of columns that read it. False: empty, " +
      "`false`, `0`, `none`, `null`.",
    examples: ["rating < 3", "{{ product == 'tents' }}"]
  })
})
export type SkipConfig = typeof SkipConfig.Type

export const skipField = Schema.optional(SkipConfig.annotate({
  description: "Conditional generation: skip this column's cell on the rows where `when` is true."
}))

export const ProcessorStage = Schema.Literals(["pre-batch", "post-batch"])
export type ProcessorStage = typeof ProcessorStage.Type

export const FilterProcessor = Schema.Struct({
  name: Schema.NonEmptyString.annotate({
    description: "The processor's name, given in the message of every row it drops (`dropped.jsonl`, `summary.json`).",
    examples: ["short-reviews"]
  }),
  type: Schema.Literal("filter").annotate({
    description: "Drops the rows where `when` is true (they are recorded as `processor_dropped`, not written)."
  }),
  when: Expression.annotate({
    description: "A Jinja expression over the row's columns (`{{ … }}` optional); true drops the row.",
    examples: ["review | length < 40"]
  }),
  stage: ProcessorStage.annotate({
    description: "`pre-batch`: once a row group's seed columns (samplers, columns with no references and no " +
      "model) are generated, before any model call — `when` may only read those columns; `post-batch`: once every " +
      "column of the row group is generated, before it is written.",
    default: "post-batch"
  }).pipe(Schema.withDecodingDefault(Effect.succeed("post-batch" as const)))
})

export const ProcessorConfig = Schema.Union([FilterProcessor])
export type ProcessorConfig = typeof ProcessorConfig.Type

export const processorsField = Schema.Array(ProcessorConfig).annotate({
  description: "Row processors run on each row group, in order; each may drop rows.",
  default: []
}).pipe(Schema.withDecodingDefault(Effect.succeed([])))
