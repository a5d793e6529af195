import type { RequestDomain } from "@sluice/scheduling-resources"
import type { CustomModelMetadata, LocalMetadata, ModelMetadata } from "./SchedulingMetadata.js"

/**
 * Local metadata; `resource` defaults to `"default"` and `weight` to 1. Not validated: use
 * `decodeSchedulingMetadata` for untrusted values (`resolveScheduling` validates everything it is given).
 *
 * @since 0.1.0
 */
export const localMetadata = (
  options: { readonly resource?: string | undefined; readonly weight?: number | undefined } = {}
): LocalMetadata => ({ kind: "local", resource: options.resource ?? "default", weight: options.weight ?? 1 })

/**
 * Model metadata for one provider/model in one request domain. The weight is the endpoint's
 * effective `maxParallelRequests` (no default: a model generator must know it). Not validated.
 *
 * @since 0.1.0
 */
export const modelMetadata = (
  provider: string,
  model: string,
  domain: RequestDomain,
  weight: number
): ModelMetadata => ({ kind: "model", provider, model, domain, weight })

/**
 * Custom-model metadata; `weight` defaults to 1. Not validated.
 *
 * @since 0.1.0
 */
export const customModelMetadata = (
  namespace: string,
  resource: string,
  version: string,
  weight: number = 1
): CustomModelMetadata => ({ kind: "custom_model", namespace, resource, version, weight })
