import { Config, Effect, type Redacted } from "effect"
import { ConfigError } from "../config/ConfigError.js"
import type { ProviderConfig, SluiceConfig } from "../config/schema.js"
import { type MockProviderHandle, startMockProvider } from "@sluice/mock-provider"
import { ProviderHealth } from "./providerHealth.js"

/**
 * A provider ready to take requests: where it is, its key, its limits, its health (the circuit breaker that
 * declares it down), and (for mocks) the running server.
 */
export interface ProviderRuntime {
  readonly name: string
  readonly baseUrl: string
  readonly apiKey: Redacted.Redacted<string> | undefined
  readonly timeoutSeconds: number
  readonly maxResponseBytes: number
  readonly maxRetryAfterSeconds: number
  readonly health: ProviderHealth
  readonly mock?: MockProviderHandle
}

const limitsOf = (provider: ProviderConfig) => ({
  timeoutSeconds: provider.timeoutSeconds,
  maxResponseBytes: provider.maxResponseBytes,
  maxRetryAfterSeconds: provider.maxRetryAfterSeconds,
  health: new ProviderHealth(provider.name, provider.unreachableAfter, provider.maxRetryAfterSeconds)
})

/** What the progress display reads: every provider's health, as of now. */
export const providerHealthOf = (providers: ReadonlyMap<string, ProviderRuntime>) =>
  Effect.sync(() => [...providers.values()].map((provider) => provider.health.snapshot()))

/**
 * Starts every mock provider on a random loopback port (closed with the scope) and reads every API key from the
 * environment variable its provider names. A missing variable is a config error naming the provider.
 */
export const startProviders = Effect.fnUntraced(function*(file: string, config: SluiceConfig) {
  const runtimes = new Map<string, ProviderRuntime>()
  for (const [index, provider] of config.providers.entries()) {
    if (provider.type === "mock") {
      const mock = yield* startMockProvider({ ...provider.mock, port: 0 })
      runtimes.set(provider.name, {
        name: provider.name,
        baseUrl: mock.url,
        apiKey: undefined,
        ...limitsOf(provider),
        mock
      })
      continue
    }
    const apiKey = provider.apiKeyEnv === undefined
      ? undefined
      : yield* Config.Redacted(provider.apiKeyEnv).pipe(
        Effect.mapError(() =>
          new ConfigError({
            file,
            issues: [{
              path: `providers[${index}].apiKeyEnv`,
              problem: `environment variable ${provider.apiKeyEnv} is not set`
            }]
          })
        )
      )
    runtimes.set(provider.name, {
      name: provider.name,
      baseUrl: provider.baseUrl.replace(/\/+$/, ""),
      apiKey,
      ...limitsOf(provider)
    })
  }
  return runtimes as ReadonlyMap<string, ProviderRuntime>
})
