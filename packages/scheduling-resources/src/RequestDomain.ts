import { Schema } from "effect"

/**
 * The kinds of model request that have separate adaptive limits on one provider/model.
 *
 * @since 0.1.0
 */
export type RequestDomain = "chat" | "embedding" | "image" | "healthcheck"

/**
 * Every request domain, in declaration order.
 *
 * @since 0.1.0
 */
export const requestDomains: ReadonlyArray<RequestDomain> = ["chat", "embedding", "image", "healthcheck"]

/**
 * Schema of a {@link RequestDomain}: one of `chat`, `embedding`, `image`, `healthcheck`.
 *
 * @since 0.1.0
 */
export const RequestDomain = Schema.Literals(["chat", "embedding", "image", "healthcheck"])

/**
 * Whether `u` is a {@link RequestDomain}.
 *
 * @since 0.1.0
 */
export const isRequestDomain: (u: unknown) => u is RequestDomain = Schema.is(RequestDomain)
