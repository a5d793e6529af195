import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer, Schema } from "effect"
import {
  defaultExecutorConfig,
  ModelRequestExecutor,
  ModelRequestExecutorConfig,
  RequestAdmission,
  RequestAdmissionConfig,
  RequestAdmissionConfigError,
  RequestAdmissionCooldown,
  RequestAdmissionNoCapacity,
  RequestAdmissionQueueTimeout,
  RequestAdmissionShutdown,
  RequestAdmissionUnknownResource
} from "../src/index.js"
import { chat } from "./helpers.js"

const configError = (input: unknown) =>
  Effect.flip(Layer.build(RequestAdmission.layer(input as never))).pipe(Effect.scoped)

describe("configuration", () => {
  it.effect("the Schema carries the defaults an application composes", () =>
    Effect.gen(function*() {
      const config = yield* Schema.decodeUnknownEffect(RequestAdmissionConfig)({})
      assert.deepStrictEqual(config, {
        models: [],
        initialLimits: {},
        maxLimitClamps: {},
        cooldownSeconds: 2,
        decreaseFactor: 0.75,
        additiveIncreaseStep: 1,
        successesUntilIncrease: 25,
        startupRampSeconds: 0,
        queueWaitTimeoutSeconds: null,
        defaultEstimatedTokens: 1000,
        budgetBurstSeconds: 60,
        eventBufferSize: 4096,
        decreaseToInFlight: true,
        halfOpenCooldown: true,
        ceilingProbeBackoff: true,
        slowStart: true,
        slowStartProbeSeconds: 0.01
      })
    }))

  it.effect("a bad value is a RequestAdmissionConfigError naming its field", () =>
    Effect.gen(function*() {
      const cases: ReadonlyArray<readonly [unknown, string]> = [
        [{ decreaseFactor: 1 }, "decreaseFactor"],
        [{ cooldownSeconds: 0 }, "cooldownSeconds"],
        [{ successesUntilIncrease: 2.5 }, "successesUntilIncrease"],
        [{ queueWaitTimeoutSeconds: -1 }, "queueWaitTimeoutSeconds"],
        [
          { models: [{ provider: "p", model: "m", maxParallelRequests: 1, requestsPerMinute: 0 }] },
          "models[0].requestsPerMinute"
        ],
        [
          { models: [{ provider: "p", model: "m", maxParallelRequests: 1, tokensPerMinute: -5 }] },
          "models[0].tokensPerMinute"
        ],
        [{ defaultEstimatedTokens: 1.5 }, "defaultEstimatedTokens"],
        [{ budgetBurstSeconds: 0 }, "budgetBurstSeconds"],
        [{ startupRampSeconds: Infinity }, "startupRampSeconds"],
        [{ slowStartInitialWindow: 0 }, "slowStartInitialWindow"],
        [{ initialLimits: { "p/m/chat": 0 } }, "initialLimits.p/m/chat"],
        [{ models: [{ provider: "p", model: "m", maxParallelRequests: 0 }] }, "models[0].maxParallelRequests"]
      ]
      for (const [input, field] of cases) {
        const error = yield* configError(input)
        assert.instanceOf(error, RequestAdmissionConfigError)
        assert.strictEqual(error.field, field, JSON.stringify(input))
        assert.isNotEmpty(error.message)
      }
    }))

  it.effect("null waits; an explicit null timeout stays null, an absent one takes the default", () =>
    Effect.gen(function*() {
      const decode = Schema.decodeUnknownEffect(RequestAdmissionConfig)
      assert.strictEqual((yield* decode({ queueWaitTimeoutSeconds: null })).queueWaitTimeoutSeconds, null)
      assert.strictEqual((yield* decode({ queueWaitTimeoutSeconds: 3 })).queueWaitTimeoutSeconds, 3)
      assert.strictEqual((yield* decode({ slowStartProbeSeconds: null })).slowStartProbeSeconds, null)
    }))
})

describe("executor configuration", () => {
  it.effect("its Schema's defaults are the exported defaults; a bad value names its field", () =>
    Effect.gen(function*() {
      assert.deepStrictEqual(yield* Schema.decodeUnknownEffect(ModelRequestExecutorConfig)({}), defaultExecutorConfig)
      for (const [input, field] of [[{ jitter: 2 }, "jitter"], [{ maxRetries: -1 }, "maxRetries"]] as const) {
        const error = yield* Effect.flip(
          Layer.build(ModelRequestExecutor.layer(input).pipe(Layer.provide(RequestAdmission.layerDefault)))
        ).pipe(Effect.scoped)
        assert.strictEqual(error.field, field)
      }
    }))
})

describe("typed errors", () => {
  it("each tag is its class name, owned by request admission", () => {
    const errors = [
      new RequestAdmissionQueueTimeout({ resource: chat, waitedMs: 1, waitersAhead: 0 }),
      new RequestAdmissionUnknownResource({ resource: chat }),
      new RequestAdmissionShutdown({ resource: chat }),
      new RequestAdmissionCooldown({ resource: chat, availableAtMillis: 1 }),
      new RequestAdmissionNoCapacity({ resource: chat, limit: "static_cap" }),
      new RequestAdmissionConfigError({ field: "f", message: "m" })
    ]
    for (const error of errors) assert.strictEqual(error._tag, error.constructor.name)
  })
})
