import { Console, Effect, Option } from "effect"
import { Command, Flag } from "effect/cli"
import { redisLayer } from "../distributed/redisConnection.js"
import { runWorker } from "../distributed/worker.js"

/** `sluice worker --redis URL [--run RUNID]`: generates row groups of a distributed run until it ends. */
export const workerCommand = Command.make(
  "worker",
  {
    redis: Flag.String("redis").pipe(
      Flag.withDescription("The run's Redis (redis://HOST:PORT, rediss://…, unix:///path/redis.sock)")
    ),
    run: Flag.String("run").pipe(
      Flag.withDescription("The run to join (printed by `sluice generate … --redis`); default: the newest live run"),
      Flag.optional
    )
  },
  Effect.fnUntraced(function*({ redis, run }) {
    yield* runWorker({
      redis,
      runId: Option.getOrUndefined(run),
      say: (line) => Console.error(`sluice: ${line}`)
    }).pipe(Effect.scoped, Effect.provide(redisLayer(redis)))
  })
).pipe(Command.withDescription(
  "Join a distributed run (`sluice generate CONFIG --redis URL`) from this machine: it needs the same sluice " +
    "version, the config's and the output directory's paths shared with the coordinator, and Redis reachable"
))
