import type { RequestDomain } from "@sluice/scheduling-resources"

/**
 * The generation kinds a model alias may declare. `chat-completion` is the anchor's spelling of `chat`.
 *
 * @since 0.1.0
 */
export type GenerationKind = "chat-completion" | "chat" | "embedding" | "image"

/**
 * A configured model alias: the name columns use, the endpoint it resolves to, and its
 * `maxParallelRequests` cap. `generationKind` defaults to `chat`.
 *
 * @since 0.1.0
 */
export interface ModelAlias {
  readonly alias: string
  readonly provider: string
  readonly model: string
  readonly maxParallelRequests: number
  readonly generationKind?: GenerationKind
}

const domains: Readonly<Record<GenerationKind, RequestDomain>> = {
  "chat-completion": "chat",
  chat: "chat",
  embedding: "embedding",
  image: "image"
}

/**
 * The request domain of a generation kind (`chat-completion` → `chat`; absent → `chat`); `undefined`
 * for anything else, which the caller reports as `unknown_generation_kind`.
 *
 * @since 0.1.0
 */
export const requestDomainOfGenerationKind = (kind: unknown): RequestDomain | undefined =>
  kind === undefined
    ? "chat"
    : typeof kind === "string" && Object.hasOwn(domains, kind)
    ? domains[kind as GenerationKind]
    : undefined
