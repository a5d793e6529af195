import { Option, Order, Schema } from "effect"
import type { Effect } from "effect"
import { decodeLabelParts, encodeLabelPart } from "./internal/labelEncoding.js"
import { decodeWith } from "./internal/validation.js"
import type { ResourceValidationError } from "./ResourceValidationError.js"

/**
 * A provider and a model on it: the key of aggregate request capacity (one static cap per
 * provider/model, shared by every request domain).
 *
 * @since 0.1.0
 */
export interface ProviderModelKey {
  readonly provider: string
  readonly model: string
}

/**
 * Schema of a {@link ProviderModelKey}: two non-empty strings.
 *
 * @since 0.1.0
 */
export const ProviderModelKey = Schema.Struct({
  provider: Schema.NonEmptyString,
  model: Schema.NonEmptyString
})

/**
 * Builds a {@link ProviderModelKey} without validation (use {@link makeProviderModelKey} for
 * untrusted input). Both names must be non-empty.
 *
 * @since 0.1.0
 */
export const providerModelKey = (provider: string, model: string): ProviderModelKey => ({ provider, model })

/**
 * Validates untrusted input as a {@link ProviderModelKey}.
 *
 * @since 0.1.0
 */
export const makeProviderModelKey: (input: unknown) => Effect.Effect<ProviderModelKey, ResourceValidationError> =
  decodeWith(ProviderModelKey, "providerModelKey")

/**
 * The label `provider/model`, used as a Map key. In each name "%" is written "%25" and "/" is
 * written "%2F", so the label is unambiguous: `("together", "meta/llama-3")` gives
 * `together/meta%2Fllama-3` and `("together/meta", "llama-3")` gives `together%2Fmeta/llama-3`.
 * Names without "%" or "/" appear unchanged.
 *
 * @since 0.1.0
 */
export const providerModelLabel = (key: ProviderModelKey): string =>
  `${encodeLabelPart(key.provider)}/${encodeLabelPart(key.model)}`

/**
 * Inverse of {@link providerModelLabel}: `None` unless `label` is exactly the label of some valid key.
 *
 * @since 0.1.0
 */
export const parseProviderModelLabel = (label: string): Option.Option<ProviderModelKey> => {
  const parts = decodeLabelParts(label, 2)
  return parts === undefined ? Option.none() : Option.some(providerModelKey(parts[0]!, parts[1]!))
}

/**
 * Orders keys by provider, then model.
 *
 * @since 0.1.0
 */
export const ProviderModelKeyOrder: Order.Order<ProviderModelKey> = Order.Struct({
  provider: Order.String,
  model: Order.String
})
