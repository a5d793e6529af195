// Peer variant (deliberately plain async TypeScript, see common.ts): bottleneck with `maxConcurrent` = the declared
// maxParallelRequests and its documented retry hook — the `failed` event returns the delay before the job is
// retried: Retry-After on 429, jittered exponential backoff on other retryable failures, up to 5 retries.
import Bottleneck from "bottleneck"
import {
  backoffMs,
  callOnce,
  GaveUp,
  HttpFailure,
  maxRetries,
  PeerMeter,
  type PeerRun,
  type PeerWorkload,
  runRows
} from "./common.js"

export const runBottleneck = async (workload: PeerWorkload): Promise<PeerRun> => {
  const limiter = new Bottleneck({ maxConcurrent: workload.maxParallelRequests })
  const meter = new PeerMeter(() => workload.maxParallelRequests)
  limiter.on("failed", (error: unknown, info: Bottleneck.EventInfoRetryable) => {
    if (!(error instanceof HttpFailure) || !error.retryable || info.retryCount >= maxRetries) return undefined
    return error.status === 429 && error.retryAfterMs !== undefined ? error.retryAfterMs : backoffMs(info.retryCount)
  })
  const call = async (prompt: string): Promise<string> => {
    try {
      return await limiter.schedule(() => callOnce(workload, meter, prompt))
    } catch (error) {
      meter.gaveUp++
      throw new GaveUp(String(error))
    }
  }
  try {
    return await runRows(workload, meter, call)
  } finally {
    await limiter.stop({ dropWaitingJobs: true })
  }
}
