import type { Layer } from "effect"
import { ProviderTransport } from "./ProviderTransport.js"

/**
 * What the app's provider calls need: the undici transport (`ProviderTransport.layer`), whose connection pool is
 * destroyed when the layer's scope closes.
 */
export const OpenAiClientLayer: Layer.Layer<ProviderTransport> = ProviderTransport.layer
