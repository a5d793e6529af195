import { type GeneratorScheduling, localMetadata, metadataForModelAliases, type ModelAlias } from "@sluice/resolver"
import { Effect } from "effect"
import type { LoadedConfig } from "../config/loadConfig.js"

/** The scheduling metadata of each column: samplers and templates are local work, LLM columns use their model. */
export const columnScheduling = (loaded: LoadedConfig) => {
  const aliases: ReadonlyArray<ModelAlias> = loaded.config.models.map((model) => ({
    alias: model.alias,
    provider: model.provider,
    model: model.model,
    maxParallelRequests: model.maxParallelRequests,
    generationKind: "chat-completion"
  }))
  return Effect.forEach(loaded.columns, (column) =>
    Effect.gen(function*() {
      const metadata = "model" in column.config
        ? yield* metadataForModelAliases(column.config.name, [column.config.model], aliases)
        : localMetadata()
      return {
        generator: column.config.name,
        outputColumns: column.outputs,
        metadata
      } satisfies GeneratorScheduling
    }))
}
