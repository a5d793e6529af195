import { Effect, Option } from "effect"
import { Command, Flag } from "effect/cli"
import { decodeMockOptions, defaultMockOptions } from "./MockOptions.js"
import { runMockProviderForever } from "./MockProvider.js"

/**
 * The mock provider as a command: `<name> [--port P] [--capacity N] [--latency-min MS] [--latency-max MS]
 * [--retry-after S] [--server-error-rate R] [--timeout-rate R] [--rpm N] [--seed N]`. It serves in the foreground
 * until interrupted. The package's bin is `mockProviderCommand("sluice-mock-provider")`; an app can mount the same
 * command under its own name (the `sluice` CLI has it as `sluice mock-provider`).
 */
export const mockProviderCommand = (name: string) =>
  Command.make(
    name,
    {
      port: Flag.Int("port").pipe(Flag.withDescription("Port on 127.0.0.1 (default: a free one)"), Flag.withDefault(0)),
      capacity: Flag.Int("capacity").pipe(
        Flag.withDescription("Concurrent requests served; more get 429"),
        Flag.optional
      ),
      latencyMin: Flag.Int("latency-min").pipe(Flag.withDescription("Minimum latency, ms"), Flag.optional),
      latencyMax: Flag.Int("latency-max").pipe(Flag.withDescription("Maximum latency, ms"), Flag.optional),
      retryAfter: Flag.Int("retry-after").pipe(Flag.withDescription("Retry-After seconds on 429"), Flag.optional),
      serverErrorRate: Flag.Finite("server-error-rate").pipe(
        Flag.withDescription("Share of 500/503 answers"),
        Flag.optional
      ),
      timeoutRate: Flag.Finite("timeout-rate").pipe(
        Flag.withDescription("Share of requests never answered"),
        Flag.optional
      ),
      rpm: Flag.Int("rpm").pipe(Flag.withDescription("Requests per minute (token bucket); 429 beyond"), Flag.optional),
      seed: Flag.Int("seed").pipe(Flag.withDescription("Seed of latencies, errors and content"), Flag.optional)
    },
    Effect.fnUntraced(function*(flags) {
      const defined = <A>(name: string, value: Option.Option<A>) => Option.isSome(value) ? { [name]: value.value } : {}
      const latency = Option.isSome(flags.latencyMin) || Option.isSome(flags.latencyMax)
        ? {
          latencyMs: {
            min: Option.getOrElse(flags.latencyMin, () => defaultMockOptions.latencyMs.min),
            max: Option.getOrElse(flags.latencyMax, () => defaultMockOptions.latencyMs.max)
          }
        }
        : {}
      const options = yield* decodeMockOptions({
        port: flags.port,
        ...defined("capacity", flags.capacity),
        ...latency,
        ...defined("retryAfterSeconds", flags.retryAfter),
        ...defined("serverErrorRate", flags.serverErrorRate),
        ...defined("timeoutRate", flags.timeoutRate),
        ...defined("rpm", flags.rpm),
        ...defined("seed", flags.seed)
      })
      return yield* runMockProviderForever(options)
    })
  ).pipe(Command.withDescription("Run the OpenAI-compatible mock provider on 127.0.0.1"))
