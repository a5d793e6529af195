import { Option, Order, Schema } from "effect"
import type { Effect } from "effect"
import { decodeLabelParts, encodeLabelPart } from "./internal/labelEncoding.js"
import { decodeWith } from "./internal/validation.js"
import { providerModelKey, type ProviderModelKey } from "./ProviderModelKey.js"
import { isRequestDomain, RequestDomain } from "./RequestDomain.js"
import type { ResourceValidationError } from "./ResourceValidationError.js"

/**
 * A provider, a model and a request domain: the key of one adaptive request limit.
 *
 * @since 0.1.0
 */
export interface RequestResourceKey {
  readonly provider: string
  readonly model: string
  readonly domain: RequestDomain
}

/**
 * Schema of a {@link RequestResourceKey}: non-empty provider and model, and a {@link RequestDomain}.
 *
 * @since 0.1.0
 */
export const RequestResourceKey = Schema.Struct({
  provider: Schema.NonEmptyString,
  model: Schema.NonEmptyString,
  domain: RequestDomain
})

/**
 * Builds a {@link RequestResourceKey} without validation (use {@link makeRequestResourceKey} for
 * untrusted input). Provider and model must be non-empty.
 *
 * @since 0.1.0
 */
export const requestResourceKey = (provider: string, model: string, domain: RequestDomain): RequestResourceKey => ({
  provider,
  model,
  domain
})

/**
 * Validates untrusted input as a {@link RequestResourceKey}.
 *
 * @since 0.1.0
 */
export const makeRequestResourceKey: (input: unknown) => Effect.Effect<RequestResourceKey, ResourceValidationError> =
  decodeWith(RequestResourceKey, "requestResourceKey")

/**
 * The label `provider/model/domain`, used as a Map key, with the same escaping as
 * `providerModelLabel` ("%" → "%25", "/" → "%2F" inside provider and model).
 *
 * @since 0.1.0
 */
export const requestResourceLabel = (key: RequestResourceKey): string =>
  `${encodeLabelPart(key.provider)}/${encodeLabelPart(key.model)}/${key.domain}`

/**
 * Inverse of {@link requestResourceLabel}: `None` unless `label` is exactly the label of some valid key.
 *
 * @since 0.1.0
 */
export const parseRequestResourceLabel = (label: string): Option.Option<RequestResourceKey> => {
  const parts = decodeLabelParts(label, 3)
  return parts === undefined || !isRequestDomain(parts[2])
    ? Option.none()
    : Option.some(requestResourceKey(parts[0]!, parts[1]!, parts[2]))
}

/**
 * The provider/model (aggregate capacity) part of a request resource key.
 *
 * @since 0.1.0
 */
export const toProviderModelKey = (key: RequestResourceKey): ProviderModelKey =>
  providerModelKey(key.provider, key.model)

/**
 * Orders keys by provider, then model, then domain.
 *
 * @since 0.1.0
 */
export const RequestResourceKeyOrder: Order.Order<RequestResourceKey> = Order.Struct({
  provider: Order.String,
  model: Order.String,
  domain: Order.String
})
