import { ProviderError } from "@sluice/errors"
import { afterEach, assert, describe, it } from "vitest"
import {
  type Admission,
  AdmissionClosedError,
  createAdmission,
  ModelAuthenticationError,
  ModelInternalServerError,
  ModelRateLimitError,
  ModelRequestAdmissionRejectedError,
  ModelTimeoutError,
  RequestAdmissionConfigError
} from "../../src/promise.js"

const provider = "acme"
const model = "m1"
const target = { provider, model }

/** A call that stays pending until the test settles it, and records whether its signal fired. */
const pendingCall = () => {
  let resolve!: (value: string) => void
  let started!: () => void
  const startedPromise = new Promise<void>((r) => (started = r))
  const state = { aborted: false }
  const call = (signal: AbortSignal) => {
    started()
    signal.addEventListener("abort", () => (state.aborted = true))
    return new Promise<string>((r) => (resolve = r))
  }
  return { call, started: startedPromise, resolve: (v: string) => resolve(v), state }
}

const rejection = async (promise: Promise<unknown>): Promise<unknown> => {
  const outcome = await promise.then(() => undefined, (error: unknown) => ({ error }))
  assert.isDefined(outcome, "expected the run to reject")
  return outcome!.error
}

const settled = (admission: Admission) => {
  const stats = admission.stats()
  assert.strictEqual(stats.inFlight, 0, "no lease held")
  assert.strictEqual(stats.waiting, 0, "no waiter left")
  assert.strictEqual(stats.running, 0, "no run left")
}

/** Waits (a bounded number of event-loop turns) until `condition` holds: queued runs enqueue asynchronously. */
const until = async (condition: () => boolean) => {
  for (let turn = 0; turn < 1000 && !condition(); turn++) await new Promise((r) => setImmediate(r))
  assert.isTrue(condition(), "condition never held")
}

let admission: Admission | undefined
const make = (options: Parameters<typeof createAdmission>[0]) => (admission = createAdmission(options))
afterEach(async () => {
  await admission?.close()
  admission = undefined
})

describe("createAdmission(...).run", () => {
  it("resolves with the call's value and releases its lease", async () => {
    const a = make({ models: [{ provider, model, maxParallelRequests: 2 }] })
    const value = await a.run(
      target,
      (signal, { attempt }) => `answer (aborted: ${signal.aborted}, attempt ${attempt})`
    )
    assert.strictEqual(value, "answer (aborted: false, attempt 1)")
    settled(a)
    const stats = a.stats()
    assert.deepInclude(stats, { attempts: 1, succeeded: 1, failed: 0, rateLimited: 0, closed: false })
    assert.deepInclude(stats.models[0], { provider, model, domain: "chat", limit: 2, maxParallelRequests: 2 })
  })

  it("rejects with the typed model error of what the call threw, and releases its lease", async () => {
    const a = make({ models: [{ provider, model, maxParallelRequests: 2 }] })
    const error = await rejection(a.run(target, () => {
      throw new ProviderError({ kind: "authentication", message: "Incorrect API key provided", status: 401 })
    }))
    assert.instanceOf(error, ModelAuthenticationError)
    assert.include((error as Error).message, "Incorrect API key provided")
    settled(a)
    assert.deepInclude(a.stats(), { attempts: 1, succeeded: 0, failed: 1 })
  })

  it("retries a 429 through admission and counts it", async () => {
    const a = make({ models: [{ provider, model, maxParallelRequests: 2 }], cooldownSeconds: 0.01 })
    const value = await a.run(target, (_signal, { attempt }) => {
      if (attempt === 1) throw new ProviderError({ kind: "rate_limit", message: "Too many requests", status: 429 })
      return "second time lucky"
    })
    assert.strictEqual(value, "second time lucky")
    settled(a)
    assert.deepInclude(a.stats(), { attempts: 2, rateLimited: 1, succeeded: 1 })
    assert.deepInclude(a.stats().models[0], { rateLimited: 1, attempts: 2 })
  })

  it("gives up after retry.maxAttempts calls answered 429, with ModelRateLimitError", async () => {
    const a = make({
      models: [{ provider, model, maxParallelRequests: 2 }],
      cooldownSeconds: 0.01,
      retry: { maxAttempts: 3 }
    })
    const error = await rejection(a.run(target, () => {
      throw new ProviderError({ kind: "rate_limit", message: "Too many requests", status: 429 })
    }))
    assert.instanceOf(error, ModelRateLimitError)
    settled(a)
    assert.deepInclude(a.stats(), { attempts: 3, rateLimited: 3, failed: 1 })
  })

  it("retries a 503 with the executor's backoff", async () => {
    const a = make({ models: [{ provider, model, maxParallelRequests: 2 }], retry: { backoffBaseSeconds: 0 } })
    const value = await a.run(target, (_signal, { attempt }) => {
      if (attempt < 3) throw new ProviderError({ kind: "internal_server", message: "overloaded", status: 503 })
      return "ok"
    })
    assert.strictEqual(value, "ok")
    assert.deepInclude(a.stats(), { attempts: 3, succeeded: 1 })
    const exhausted = await rejection(a.run(target, () => {
      throw new ProviderError({ kind: "internal_server", message: "overloaded", status: 503 })
    }))
    assert.instanceOf(exhausted, ModelInternalServerError)
    settled(a)
  })

  it("uses the caller's classifier first, then providerErrorFromSdk", async () => {
    class QuotaHiccup extends Error {}
    const a = make({
      models: [{ provider, model, maxParallelRequests: 2 }],
      cooldownSeconds: 0.01,
      classify: (error) => (error instanceof QuotaHiccup ? { kind: "rate_limit", retryAfterSeconds: 0.01 } : undefined)
    })
    const value = await a.run(target, (_signal, { attempt }) => {
      if (attempt === 1) throw new QuotaHiccup("slow down")
      return "ok"
    })
    assert.strictEqual(value, "ok")
    assert.deepInclude(a.stats(), { rateLimited: 1 })
    // Not the classifier's: an openai-node-like 401 goes to the default.
    const error = await rejection(a.run(target, () => {
      throw Object.assign(new Error("401 Incorrect API key"), {
        status: 401,
        headers: {},
        error: { message: "Incorrect API key" },
        requestID: "req_1"
      })
    }))
    assert.instanceOf(error, ModelAuthenticationError)
  })

  it("an aborted caller signal aborts the running call and rejects with its reason", async () => {
    const a = make({ models: [{ provider, model, maxParallelRequests: 2 }] })
    const controller = new AbortController()
    const pending = pendingCall()
    const run = a.run({ ...target, signal: controller.signal }, pending.call)
    await pending.started
    assert.strictEqual(a.stats().inFlight, 1)
    controller.abort(new Error("user cancelled"))
    const error = await rejection(run)
    assert.strictEqual((error as Error).message, "user cancelled")
    assert.isTrue(pending.state.aborted, "the call's signal fired")
    settled(a)
  })

  it("an aborted caller signal takes a queued run out of the queue", async () => {
    const a = make({ models: [{ provider, model, maxParallelRequests: 1 }] })
    const holder = pendingCall()
    const first = a.run(target, holder.call)
    await holder.started
    const controller = new AbortController()
    let called = false
    const queued = a.run({ ...target, signal: controller.signal }, () => (called = true))
    await until(() => a.stats().waiting === 1)
    assert.deepInclude(a.stats(), { inFlight: 1, waiting: 1 })
    controller.abort(new Error("not needed any more"))
    assert.strictEqual(((await rejection(queued)) as Error).message, "not needed any more")
    assert.deepInclude(a.stats(), { inFlight: 1, waiting: 0 })
    holder.resolve("done")
    assert.strictEqual(await first, "done")
    assert.isFalse(called)
    settled(a)
  })

  it("an attempt past attemptTimeoutSeconds is aborted and rejects with ModelTimeoutError", async () => {
    const a = make({ models: [{ provider, model, maxParallelRequests: 2 }], attemptTimeoutSeconds: 0.02 })
    const pending = pendingCall()
    const error = await rejection(a.run(target, pending.call))
    assert.instanceOf(error, ModelTimeoutError)
    assert.include((error as Error).message, "attemptTimeoutSeconds")
    assert.isTrue(pending.state.aborted)
    settled(a)
  })

  it("an unregistered model rejects with ModelRequestAdmissionRejectedError", async () => {
    const a = make({ models: [{ provider, model, maxParallelRequests: 2 }] })
    let called = false
    const error = await rejection(a.run({ provider, model: "m2" }, () => (called = true)))
    assert.instanceOf(error, ModelRequestAdmissionRejectedError)
    assert.include((error as Error).message, "m2")
    assert.isFalse(called)
    settled(a)
  })
})

describe("stats", () => {
  it("shows the calls in flight and the runs queued behind the limit", async () => {
    const a = make({ models: [{ provider, model, maxParallelRequests: 2 }] })
    const calls = [pendingCall(), pendingCall(), pendingCall()]
    const runs = calls.map((c) => a.run(target, c.call))
    await Promise.all([calls[0]!.started, calls[1]!.started])
    await until(() => a.stats().waiting === 1)
    const busy = a.stats()
    assert.deepInclude(busy, { running: 3, inFlight: 2, waiting: 1 })
    assert.deepInclude(busy.models[0], { inFlight: 2, waiting: 1, limit: 2 })
    calls[0]!.resolve("a")
    await calls[2]!.started
    calls[1]!.resolve("b")
    calls[2]!.resolve("c")
    assert.deepStrictEqual(await Promise.all(runs), ["a", "b", "c"])
    settled(a)
  })
})

describe("groups", () => {
  it("queued runs are served fairly across groups, whoever queued first", async () => {
    const a = make({ models: [{ provider, model, maxParallelRequests: 1 }] })
    const holder = pendingCall()
    const first = a.run(target, holder.call)
    await holder.started
    const order: Array<string> = []
    const queue = (group: string, n: number) =>
      Array.from({ length: n }, () => a.run({ ...target, group }, () => order.push(group)))
    const runs = [...queue("bulk", 6), ...queue("interactive", 2)]
    await until(() => a.stats().waiting === 8)
    holder.resolve("done")
    await Promise.all([first, ...runs])
    // FIFO would serve all six bulk runs first; fair queueing alternates while both groups wait.
    assert.deepStrictEqual(order.slice(0, 4).sort(), ["bulk", "bulk", "interactive", "interactive"])
    settled(a)
  })
})

describe("close", () => {
  it("aborts running calls, rejects queued runs with AdmissionClosedError, and holds nothing", async () => {
    const a = make({ models: [{ provider, model, maxParallelRequests: 1 }] })
    const running = pendingCall()
    const queued = pendingCall()
    const first = a.run(target, running.call)
    const second = a.run(target, queued.call)
    await running.started
    await until(() => a.stats().waiting === 1)
    assert.deepInclude(a.stats(), { inFlight: 1, waiting: 1 })
    await a.close()
    const [e1, e2] = await Promise.all([rejection(first), rejection(second)])
    assert.instanceOf(e1, AdmissionClosedError)
    assert.instanceOf(e2, AdmissionClosedError)
    assert.include((e1 as Error).message, "close()")
    assert.isTrue(running.state.aborted, "the running call's signal fired")
    const stats = a.stats()
    assert.deepInclude(stats, { closed: true, inFlight: 0, waiting: 0, running: 0, failed: 2 })
    assert.instanceOf(await rejection(a.run(target, () => "late")), AdmissionClosedError)
    await a.close() // a second close changes nothing
  })
})

describe("bad options name the field", () => {
  const configError = (f: () => unknown): RequestAdmissionConfigError => {
    try {
      f()
    } catch (error) {
      assert.instanceOf(error, RequestAdmissionConfigError)
      return error as RequestAdmissionConfigError
    }
    assert.fail("expected a RequestAdmissionConfigError")
  }

  it("in createAdmission", () => {
    const cap = configError(() => createAdmission({ models: [{ provider, model, maxParallelRequests: 0 }] }))
    assert.strictEqual(cap.field, "models[0].maxParallelRequests")
    assert.strictEqual(cap.message, "models[0].maxParallelRequests: Expected a value greater than or equal to 1")
    assert.strictEqual(configError(() => createAdmission({ retry: { maxAttempts: 0 } })).field, "retry.maxAttempts")
    assert.strictEqual(configError(() => createAdmission({ attemptTimeoutSeconds: -1 })).field, "attemptTimeoutSeconds")
    assert.strictEqual(configError(() => createAdmission({ cooldownSeconds: 0 })).field, "cooldownSeconds")
    const typo = configError(() => createAdmission({ model: [] } as never))
    assert.strictEqual(typo.field, "model")
    assert.include(typo.message, "unknown option; the options are models, ")
    assert.strictEqual(
      configError(() => createAdmission({ retry: { maxAttempt: 3 } } as never)).field,
      "retry.maxAttempt"
    )
    assert.strictEqual(
      configError(() => createAdmission({ classify: "yes" as never })).field,
      "classify"
    )
  })

  it("in run", async () => {
    const a = make({ models: [{ provider, model, maxParallelRequests: 2 }] })
    const error = await rejection(a.run({ ...target, domain: "video" as never }, () => "never"))
    assert.instanceOf(error, RequestAdmissionConfigError)
    assert.strictEqual((error as RequestAdmissionConfigError).field, "domain")
    const typo = await rejection(a.run({ ...target, grup: "tenant-a" } as never, () => "never"))
    assert.strictEqual((typo as RequestAdmissionConfigError).field, "grup")
    const weight = await rejection(a.run({ ...target, group: { key: "g", weight: -1 } }, () => "never"))
    assert.strictEqual((weight as RequestAdmissionConfigError).field, "group.weight")
    settled(a)
  })
})

describe("budgets through the facade", () => {
  it("charges estimatedTokens, corrects them from usage, and shows the buckets in stats", async () => {
    const a = make({ models: [{ ...target, maxParallelRequests: 4, tokensPerMinute: 60_000, requestsPerMinute: 600 }] })
    const value = await a.run(
      { ...target, estimatedTokens: 50_000, usage: (answer) => ({ totalTokens: answer.tokens }) },
      () => ({ text: "ok", tokens: 200 })
    )
    assert.strictEqual(value.text, "ok")
    const budget = a.stats().models[0]!.budget!
    assert.strictEqual(budget.tokensPerMinute, 60_000)
    assert.strictEqual(budget.requestsPerMinute, 600)
    // 60 000 − 200 (the usage replaced the 50 000 estimate), plus what refilled meanwhile (capped at 60 000).
    assert.isAtLeast(budget.tokensAvailable!, 59_800)
    assert.isAtMost(budget.requestsAvailable!, 600)
    // A call larger than what is left waits in the queue for its budget, then runs.
    await a.run({ ...target, estimatedTokens: 59_900 }, () => "spent")
    const waiting = a.run({ ...target, estimatedTokens: 300 }, () => "later")
    await until(() => a.stats().waiting === 1)
    assert.strictEqual(await waiting, "later")
    settled(a)
  })

  it("a bad estimate or usage reader is a RequestAdmissionConfigError naming the field", async () => {
    const a = make({ models: [{ ...target, maxParallelRequests: 1, tokensPerMinute: 1000 }] })
    const bad = await rejection(a.run({ ...target, estimatedTokens: -1 }, () => "x"))
    assert.instanceOf(bad, RequestAdmissionConfigError)
    assert.strictEqual((bad as RequestAdmissionConfigError).field, "estimatedTokens")
    const notAFunction = await rejection(a.run({ ...target, usage: 3 as never }, () => "x"))
    assert.strictEqual((notAFunction as RequestAdmissionConfigError).field, "usage")
    const config = (() => {
      try {
        createAdmission({ models: [{ ...target, maxParallelRequests: 1, requestsPerMinute: 0 }] })
      } catch (error) {
        return error
      }
    })()
    assert.strictEqual((config as RequestAdmissionConfigError).field, "models[0].requestsPerMinute")
  })
})
