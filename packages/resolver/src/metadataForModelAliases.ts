import { providerModelKey, providerModelLabel, type RequestDomain, taskGroupFlow } from "@sluice/scheduling-resources"
import { Effect, Formatter } from "effect"
import { customModelMetadata, localMetadata, modelMetadata } from "./constructors.js"
import type { MetadataDiagnostic } from "./MetadataDiagnostic.js"
import { type ModelAlias, requestDomainOfGenerationKind } from "./ModelAlias.js"
import type { SchedulingMetadata } from "./SchedulingMetadata.js"
import { SchedulingMetadataError, type SchedulingMetadataErrorCode } from "./SchedulingMetadataError.js"

/**
 * The namespace of the custom-model metadata used when a generator's aliases span several endpoints.
 *
 * @since 0.1.0
 */
export const aliasSetNamespace = "alias-set"

interface ResolvedAlias {
  readonly alias: string
  readonly provider: string
  readonly model: string
  readonly domain: RequestDomain
  readonly cap: number
  readonly raw: unknown
}

const isCap = (n: unknown): n is number => typeof n === "number" && Number.isSafeInteger(n) && n >= 1

const endpointLabel = (a: ResolvedAlias): string =>
  `${providerModelLabel(providerModelKey(a.provider, a.model))}/${a.domain}`

const compareStrings = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0)

/**
 * A stable id of an alias set: the distinct alias names in code-unit order, joined with "," ("%" and
 * "," escaped inside names), so the same set always gives the same resource, whatever order a
 * column lists its aliases in, and two different sets never collide.
 *
 * @since 0.1.0
 */
export const aliasSetResource = (aliasNames: ReadonlyArray<string>): string =>
  taskGroupFlow([...new Set(aliasNames)].sort(compareStrings))

/**
 * Derives a model generator's scheduling metadata from the aliases it uses (deduplicated, order kept).
 *
 * - No alias → `missing_model_alias`, with fallback `localMetadata()`.
 * - An alias that is not configured, or is configured twice → `alias_resolution_failed`, no fallback.
 * - A generation kind other than `chat-completion`, `chat`, `embedding`, `image` → `unknown_generation_kind`.
 * - An empty provider or model → `invalid_identity`.
 * - A `maxParallelRequests` below 1 or not an integer counts as 1, with a `clamped_max_parallel_requests` diagnostic.
 * - One endpoint → `model(provider, model, domain, weight)`, weight = the smallest cap over **every**
 *   configured alias on that provider/model (not only the ones named here), because request admission
 *   sizes one static cap per provider/model from that same minimum.
 * - Several endpoints → `customModel("alias-set", aliasSetResource(names), "v1", weight = sum of the named
 *   aliases' caps)` with a `multi_endpoint_alias_set` diagnostic: such tasks hold no request resource.
 *
 * @since 0.1.0
 */
export const metadataForModelAliases = Effect.fnUntraced(function*(
  generator: string,
  aliasNames: ReadonlyArray<string>,
  aliases: ReadonlyArray<ModelAlias>
): Effect.fn.Return<SchedulingMetadata, SchedulingMetadataError> {
  const error = (code: SchedulingMetadataErrorCode, field: string, message: string) =>
    new SchedulingMetadataError({
      code,
      field,
      message: `Generator ${JSON.stringify(generator)}: ${message}`,
      generator
    })

  const names = [...new Set(aliasNames)]
  if (names.length === 0) {
    return yield* new SchedulingMetadataError({
      code: "missing_model_alias",
      field: "aliasNames",
      message: `Generator ${JSON.stringify(generator)}: no model alias to derive scheduling metadata from`,
      generator,
      fallback: localMetadata()
    })
  }

  // Validate every configured alias once: the minimum cap of an endpoint reads aliases the generator does not name.
  const diagnostics: Array<MetadataDiagnostic> = []
  const byName = new Map<string, ResolvedAlias>()
  for (const [index, alias] of aliases.entries()) {
    const field = `aliases[${index}]`
    if (typeof alias.alias !== "string" || alias.alias.length === 0) {
      return yield* error("alias_resolution_failed", `${field}.alias`, `alias ${index} has no name`)
    }
    if (byName.has(alias.alias)) {
      return yield* error(
        "alias_resolution_failed",
        `${field}.alias`,
        `alias ${JSON.stringify(alias.alias)} is configured twice`
      )
    }
    for (const part of ["provider", "model"] as const) {
      if (typeof alias[part] !== "string" || alias[part].length === 0) {
        return yield* error(
          "invalid_identity",
          `${field}.${part}`,
          `alias ${JSON.stringify(alias.alias)} needs a non-empty ${part}, got ${Formatter.format(alias[part])}`
        )
      }
    }
    const domain = requestDomainOfGenerationKind(alias.generationKind)
    if (domain === undefined) {
      return yield* error(
        "unknown_generation_kind",
        `${field}.generationKind`,
        `alias ${JSON.stringify(alias.alias)} has generation kind ${
          Formatter.format(alias.generationKind)
        }; expected "chat-completion" | "chat" | "embedding" | "image"`
      )
    }
    const raw: unknown = alias.maxParallelRequests
    const cap = isCap(raw) ? raw : 1
    byName.set(alias.alias, { alias: alias.alias, provider: alias.provider, model: alias.model, domain, cap, raw })
  }

  const used: Array<ResolvedAlias> = []
  for (const [index, name] of aliasNames.entries()) {
    const resolved = byName.get(name)
    if (resolved === undefined) {
      return yield* error(
        "alias_resolution_failed",
        `aliasNames[${index}]`,
        `model alias ${JSON.stringify(name)} is not configured (configured: ${
          [...byName.keys()].map((n) => JSON.stringify(n)).join(", ") || "none"
        })`
      )
    }
    if (!used.includes(resolved)) used.push(resolved)
  }

  // Report a clamped cap wherever it counts: on a named alias, or on any alias sharing a named provider/model.
  const sharesProviderModel = (alias: ResolvedAlias): boolean =>
    used.some((u) => u.provider === alias.provider && u.model === alias.model)
  for (const alias of byName.values()) {
    if (!isCap(alias.raw) && sharesProviderModel(alias)) {
      diagnostics.push({
        code: "clamped_max_parallel_requests",
        message: `alias ${JSON.stringify(alias.alias)}: maxParallelRequests ${
          Formatter.format(alias.raw)
        } is not an integer ≥ 1; using 1`
      })
    }
  }

  const endpoints = [...new Set(used.map(endpointLabel))]
  if (endpoints.length === 1) {
    const { domain, model, provider } = used[0]!
    let weight = Number.POSITIVE_INFINITY
    for (const alias of byName.values()) {
      if (alias.provider === provider && alias.model === model) weight = Math.min(weight, alias.cap)
    }
    const metadata = modelMetadata(provider, model, domain, weight)
    return diagnostics.length === 0 ? metadata : { ...metadata, diagnostics }
  }

  const weight = used.reduce((sum, alias) => sum + alias.cap, 0)
  const resource = aliasSetResource(names)
  diagnostics.push({
    code: "multi_endpoint_alias_set",
    message: `aliases ${
      used.map((a) => `${a.alias} (${endpointLabel(a)}, cap ${a.cap})`).join(", ")
    } resolve to ${endpoints.length} endpoints; scheduled as custom_model ${aliasSetNamespace}/${resource}/v1 with weight ${weight} (sum of caps) and no request resource`
  })
  return { ...customModelMetadata(aliasSetNamespace, resource, "v1", weight), diagnostics }
})
