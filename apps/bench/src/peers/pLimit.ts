// Peer variant (deliberately plain async TypeScript, see common.ts): p-limit sized to the declared
// maxParallelRequests, with the retry loop a careful user writes around it — Retry-After honoured on 429,
// jittered exponential backoff otherwise, sleeping *outside* the limiter so a waiting retry holds no slot.
import pLimit from "p-limit"
import {
  backoffMs,
  callOnce,
  GaveUp,
  HttpFailure,
  maxRetries,
  PeerMeter,
  type PeerRun,
  type PeerWorkload,
  runRows,
  sleep
} from "./common.js"

export const runPLimit = async (workload: PeerWorkload): Promise<PeerRun> => {
  const limit = pLimit(workload.maxParallelRequests)
  const meter = new PeerMeter(() => limit.concurrency)
  const call = async (prompt: string): Promise<string> => {
    for (let attempt = 0;; attempt++) {
      try {
        return await limit(() => callOnce(workload, meter, prompt))
      } catch (error) {
        if (!(error instanceof HttpFailure) || !error.retryable || attempt >= maxRetries) {
          meter.gaveUp++
          throw new GaveUp(String(error))
        }
        await sleep(error.status === 429 && error.retryAfterMs !== undefined ? error.retryAfterMs : backoffMs(attempt))
      }
    }
  }
  return runRows(workload, meter, call)
}
