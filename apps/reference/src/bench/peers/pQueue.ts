// Peer variant (deliberately plain async TypeScript, see common.ts): p-queue sized to the declared
// maxParallelRequests + p-retry (5 retries, jittered exponential backoff). p-retry has no Retry-After support;
// following the p-queue maintainer's advice (#231: "pausing the queue and retrying"), a 429 pauses the queue for
// its Retry-After and the awaited `onFailedAttempt` waits it out before p-retry's own backoff.
import PQueue from "p-queue"
import pRetry from "p-retry"
import { callOnce, GaveUp, HttpFailure, maxRetries, PeerMeter, type PeerRun, type PeerWorkload, runRows, sleep } from "./common.js"

export const runPQueue = async (workload: PeerWorkload): Promise<PeerRun> => {
  const queue = new PQueue({ concurrency: workload.maxParallelRequests })
  const meter = new PeerMeter(() => (queue.isPaused ? 0 : queue.concurrency))
  let resumeAt = 0
  const pauseFor = (ms: number) => {
    const until = Date.now() + ms
    if (until <= resumeAt) return
    resumeAt = until
    queue.pause()
    setTimeout(() => {
      if (Date.now() >= resumeAt) queue.start()
    }, ms)
  }
  const call = async (prompt: string): Promise<string> => {
    try {
      return await pRetry(() => queue.add(() => callOnce(workload, meter, prompt)), {
        retries: maxRetries,
        minTimeout: 250,
        factor: 2,
        randomize: true,
        shouldRetry: ({ error }) => error instanceof HttpFailure && error.retryable,
        onFailedAttempt: async ({ error }) => {
          if (error instanceof HttpFailure && error.status === 429 && error.retryAfterMs !== undefined) {
            pauseFor(error.retryAfterMs)
            await sleep(error.retryAfterMs)
          }
        }
      })
    } catch (error) {
      meter.gaveUp++
      throw new GaveUp(String(error))
    }
  }
  return runRows(workload, meter, call)
}
