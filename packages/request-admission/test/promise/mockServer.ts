import { type MockOptionsInput, type MockProviderHandle, startMockProvider } from "@sluice/mock-provider"
import { Effect, Exit, Scope } from "effect"

/** A mock provider on 127.0.0.1 for a Promise test: `close()` stops it. */
export interface MockServer {
  readonly url: string
  readonly stats: () => Promise<Effect.Success<MockProviderHandle["stats"]>>
  readonly close: () => Promise<void>
}

export const startMock = async (options: MockOptionsInput): Promise<MockServer> => {
  const scope = Effect.runSync(Scope.make())
  const handle = await Effect.runPromise(Scope.provide(startMockProvider(options), scope))
  return {
    url: handle.url,
    stats: () => Effect.runPromise(handle.stats),
    close: () => Effect.runPromise(Scope.close(scope, Exit.void))
  }
}
