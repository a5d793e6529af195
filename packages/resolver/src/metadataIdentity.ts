import { type RequestResourceKey, requestResourceKey, requestResourceLabel } from "@sluice/scheduling-resources"
import type { SchedulingMetadata } from "./SchedulingMetadata.js"

// The same escaping as the labels of @sluice/scheduling-resources ("%" → "%25", "/" → "%2F"), so
// the parts joined with "/" can never be confused: ("a/b", "c") and ("a", "b/c") differ.
const encodePart = (part: string): string =>
  part.includes("%") || part.includes("/") ? part.replaceAll("%", "%25").replaceAll("/", "%2F") : part

/**
 * The identity of a generator's metadata as one string (the kind is not included; it is the task
 * group's `kind`): `local` → the resource; `model` → `provider/model/domain` (the request resource
 * label); `custom_model` → `namespace/resource/version`. Weight and diagnostics are not part of it.
 *
 * @since 0.1.0
 */
export const metadataIdentity = (metadata: SchedulingMetadata): string => {
  switch (metadata.kind) {
    case "local":
      return encodePart(metadata.resource)
    case "model":
      return requestResourceLabel(requestResourceKey(metadata.provider, metadata.model, metadata.domain))
    case "custom_model":
      return [metadata.namespace, metadata.resource, metadata.version].map(encodePart).join("/")
  }
}

/**
 * The request-admission resource a task of this metadata uses: only model metadata has one
 * (custom-model and local tasks are invisible to request admission).
 *
 * @since 0.1.0
 */
export const requestResourceOf = (metadata: SchedulingMetadata): RequestResourceKey | undefined =>
  metadata.kind === "model" ? requestResourceKey(metadata.provider, metadata.model, metadata.domain) : undefined

/**
 * A one-line human description: `model openai/gpt-4o/chat (weight 8)`.
 *
 * @since 0.1.0
 */
export const describeMetadata = (metadata: SchedulingMetadata): string =>
  `${metadata.kind} ${metadataIdentity(metadata)} (weight ${metadata.weight})`
