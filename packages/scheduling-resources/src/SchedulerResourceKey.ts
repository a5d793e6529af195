import { Option, Schema } from "effect"
import type { Brand, Effect } from "effect"
import { decodeWith } from "./internal/validation.js"
import { parseProviderModelLabel, providerModelLabel, type ProviderModelKey } from "./ProviderModelKey.js"
import { parseRequestResourceLabel, type RequestResourceKey, requestResourceLabel } from "./RequestResourceKey.js"
import type { ResourceValidationError } from "./ResourceValidationError.js"

/**
 * The name of a scheduler (task-stage) resource: `submission`, `llm_wait`,
 * `request:{provider}/{model}`, `request:{provider}/{model}/{domain}`, or any other non-empty name.
 *
 * It is a branded `string`, so it can be used directly as a Map key and compared with `===`;
 * the brand only proves that the string went through {@link SchedulerResourceKey} (or one of the
 * constructors below). A key that starts with `request:` must be the canonical form produced by
 * {@link requestCapacityResource} or {@link requestDomainResource}, so each provider/model (and each of its
 * request domains) has exactly one request key.
 *
 * @since 0.1.0
 */
export type SchedulerResourceKey = string & Brand.Brand<"SchedulerResourceKey">

const requestPrefix = "request:"

const isWellFormedRequestKey = (key: string): boolean => {
  if (!key.startsWith(requestPrefix)) return true
  const label = key.slice(requestPrefix.length)
  return Option.isSome(parseProviderModelLabel(label)) || Option.isSome(parseRequestResourceLabel(label))
}

/**
 * Schema of a {@link SchedulerResourceKey}: a non-empty string; if it starts with `request:`, the
 * rest must be a valid `providerModelLabel` (non-empty provider and model, "%" and "/" escaped) or a
 * valid `requestResourceLabel` (the same, then `/` and a request domain).
 *
 * @since 0.1.0
 */
export const SchedulerResourceKey = Schema.String.check(
  Schema.isNonEmpty({ expected: "a non-empty resource key" }),
  Schema.makeFilter<string>(isWellFormedRequestKey, {
    expected: "\"request:{provider}/{model}\" or \"request:{provider}/{model}/{domain}\" with non-empty provider and " +
      "model, \"%\" written \"%25\" and \"/\" written \"%2F\", and a request domain"
  })
).pipe(Schema.brand("SchedulerResourceKey"))

/**
 * Validates untrusted input as a {@link SchedulerResourceKey}.
 *
 * @since 0.1.0
 */
export const makeSchedulerResourceKey: (
  input: unknown
) => Effect.Effect<SchedulerResourceKey, ResourceValidationError> = decodeWith(SchedulerResourceKey, "key")

/**
 * `submission`: requested (amount 1) by every task; its limit is the maximum number of tasks in flight.
 *
 * @since 0.1.0
 */
export const submissionResource = "submission" as SchedulerResourceKey

/**
 * `llm_wait`: requested (amount 1) by model and custom-model tasks.
 *
 * @since 0.1.0
 */
export const llmWaitResource = "llm_wait" as SchedulerResourceKey

/**
 * `request:{provider}/{model}`: the task-stage share of a provider/model's request capacity.
 * The part after `request:` is `providerModelLabel(key)`, so names containing "/" stay unambiguous
 * (`request:together/meta%2Fllama-3`).
 *
 * @since 0.1.0
 */
export const requestCapacityResource = (key: ProviderModelKey): SchedulerResourceKey =>
  `${requestPrefix}${providerModelLabel(key)}` as SchedulerResourceKey

/**
 * The provider/model of a `request:{provider}/{model}` key; `None` for any other key.
 *
 * @since 0.1.0
 */
export const parseRequestCapacityResource = (key: SchedulerResourceKey): Option.Option<ProviderModelKey> =>
  key.startsWith(requestPrefix) ? parseProviderModelLabel(key.slice(requestPrefix.length)) : Option.none()

/**
 * `request:{provider}/{model}/{domain}`: the task-stage share of one request domain of a provider/model. Request
 * admission adapts its limit and cools down per provider/model/domain, so the scheduler gates each domain on its
 * own (a cooling chat domain does not stall embeddings on the same model), under the provider/model's
 * `request:{provider}/{model}` aggregate. The part after `request:` is `requestResourceLabel(key)`.
 *
 * @since 0.1.0
 */
export const requestDomainResource = (key: RequestResourceKey): SchedulerResourceKey =>
  `${requestPrefix}${requestResourceLabel(key)}` as SchedulerResourceKey

/**
 * The provider/model/domain of a `request:{provider}/{model}/{domain}` key; `None` for any other key.
 *
 * @since 0.1.0
 */
export const parseRequestDomainResource = (key: SchedulerResourceKey): Option.Option<RequestResourceKey> =>
  key.startsWith(requestPrefix) ? parseRequestResourceLabel(key.slice(requestPrefix.length)) : Option.none()
