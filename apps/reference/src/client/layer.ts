import { NodeHttpClient } from "@effect/platform-node"
import { Layer } from "effect"
import { HttpClient } from "effect/http"

/**
 * The `HttpClient` the app uses for providers: undici through `NodeHttpClient.layerUndici`, not
 * `FetchHttpClient`. Its dispatcher is a scoped `Agent` (keep-alive pools per origin, no per-origin connection
 * cap, so 1,000+ concurrent attempts do not queue inside the client) that is destroyed when the layer's scope
 * closes — no sockets outlive a run — and aborting a request destroys its socket at once. undici leaves all
 * timeouts to us (`headersTimeout` 1 h, `bodyTimeout` off), so `timeoutSeconds` is the only clock.
 */
export const OpenAiClientLayer: Layer.Layer<HttpClient.HttpClient> = NodeHttpClient.layerUndici

/**
 * The CLI exports no traces, so provider calls build no client spans: with tracing on, every attempt parses its URL
 * again, records span and header attributes and adds a `traceparent` header — about a tenth of an attempt's CPU.
 * `TracerDisabledWhen` is read from the calling fiber, so this goes where the calls run (the pipeline's services).
 */
export const ProviderCallsUntracedLayer: Layer.Layer<never> = Layer.succeed(HttpClient.TracerDisabledWhen, () => true)
