import { Schema } from "effect"

/** Redis cannot be reached (or did not answer in time): a distributed run or worker cannot start or go on. */
export class RedisUnavailableError extends Schema.TaggedError<RedisUnavailableError>()("RedisUnavailableError", {
  /** The `--redis` value, as given. */
  url: Schema.String,
  problem: Schema.String
}) {
  override get message(): string {
    return `--redis ${this.url}: ${this.problem}. Check that Redis runs and that this machine can reach it ` +
      "(redis-cli -u URL ping)"
  }
}

/**
 * A distributed run cannot go on, or cannot be joined: no run to join, a run whose config differs, a row group the
 * queue gave up on, workers that made no progress. Carries the exit code (2 usage, 4 the run stopped).
 */
export class DistributedRunError extends Schema.TaggedError<DistributedRunError>()("DistributedRunError", {
  problem: Schema.String,
  exitCode: Schema.Int
}) {
  override get message(): string {
    return this.problem
  }
}
