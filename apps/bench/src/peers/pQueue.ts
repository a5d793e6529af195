// Peer variant (deliberately plain async TypeScript, see common.ts): p-queue sized to the declared
// maxParallelRequests + p-retry (5 retries, jittered exponential backoff). p-retry has no Retry-After support;
// following the p-queue maintainer's advice ("pausing the queue and retrying"), a 429 pauses the queue for
// its Retry-After and the awaited `onFailedAttempt` waits it out before p-retry's own backoff.
import PQueue from "p-queue"
import pRetry from "p-retry"
import {
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

export const runPQueue = async (workload: PeerWorkload): Promise<PeerRun> => {
  const queue = new PQueue({ concurrency: workload.maxParallelRequests })
  const meter = new PeerMeter(() => (queue.isPaused ? 0 : queue.concurrency))
  // One timer re-armed until the latest Retry-After has passed (a timer may fire a millisecond early by Date.now()).
  let resumeAt = 0
  let timer: ReturnType<typeof setTimeout> | undefined
  const tick = () => {
    const left = resumeAt - Date.now()
    if (left > 0) {
      timer = setTimeout(tick, left)
      return
    }
    timer = undefined
    queue.start()
  }
  const pauseFor = (ms: number) => {
    resumeAt = Math.max(resumeAt, Date.now() + ms)
    queue.pause()
    timer ??= setTimeout(tick, ms)
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
