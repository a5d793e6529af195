/**
 * Controller configuration: the anchor's defaults, validated once when the layer is built.
 */
import { Effect } from "effect"
import { RequestAdmissionConfigError } from "./errors.js"

/** A static cap for one alias of a provider/model (`maxParallelRequests` in model configs). */
export interface ModelRegistration {
  readonly provider: string
  readonly model: string
  /** Aliases naming the same provider/model merge with the min rule. Defaults to `"provider/model"`. */
  readonly alias?: string | undefined
  readonly maxParallelRequests: number
}

export interface RequestAdmissionConfig {
  /** Registered at start; more can be added with `register`. */
  readonly models?: ReadonlyArray<ModelRegistration> | undefined
  /** Starting adaptive limit per resource label `"provider/model/domain"`; default: the effective max. */
  readonly initialLimits?: Readonly<Record<string, number>> | undefined
  /** Optional ceiling per resource label below the static cap. */
  readonly maxLimitClamps?: Readonly<Record<string, number>> | undefined
  /** Cooldown after a 429 without a usable Retry-After. Default 2. */
  readonly cooldownSeconds?: number | undefined
  /** Multiplicative decrease, in (0, 1). Default 0.75. */
  readonly decreaseFactor?: number | undefined
  /** Additive increase step. Default 1. */
  readonly additiveIncreaseStep?: number | undefined
  /** Successes outside cooldown per additive step. Default 25. */
  readonly successesUntilIncrease?: number | undefined
  /** Linear ramp from 1 to the initial limit; 0 = off. Default 0. */
  readonly startupRampSeconds?: number | undefined
  /**
   * Default queue-wait timeout for items without their own. `null` (default) waits until admitted;
   * `0` means "try once, never wait".
   */
  readonly queueWaitTimeoutSeconds?: number | null | undefined
  /** Events buffered per subscriber before the oldest are dropped. Default 4096. */
  readonly eventBufferSize?: number | undefined
  /**
   * On every 429, lower the limit to what the provider was serving: `max(1, min(limit, inFlight))`
   * after the release (beyond the anchor). Default true.
   */
  readonly decreaseToInFlight?: boolean | undefined
  /**
   * A success during a cooldown makes the domain half-open: exactly one probe may start; if it
   * succeeds, the cooldown ends early (beyond the anchor). Default true.
   */
  readonly halfOpenCooldown?: boolean | undefined
  /**
   * An increase that would reach the last rate-limit ceiling needs `successesUntilIncrease × 2^k`
   * successes, k = consecutive failed probes at that level (beyond the anchor). Default true.
   */
  readonly ceilingProbeBackoff?: boolean | undefined
  /**
   * A fresh resource's first wave is bounded by `slowStartInitialWindow`; its first success opens the limit,
   * a 429 before any success ends slow start with the decrease (beyond the anchor, which starts at the limit).
   * Default true; ignored while a `startupRampSeconds` ramp is configured.
   */
  readonly slowStart?: boolean | undefined
  /**
   * First slow-start window (never above the limit). Default: three quarters of the limit, at least 4 — a
   * provider whose real capacity is far below the declared one rejects at most a quarter of the first wave,
   * while a correct declaration loses well under one round trip of capacity.
   */
  readonly slowStartInitialWindow?: number | undefined
  /**
   * How long a full first wave must draw no 429 before the rest of the limit opens, without waiting for
   * the first answer. A provider turns an over-limit request away at once (a rejection costs it no
   * generation), so rejections come back within a round trip while answers take the generation time:
   * a quiet first wave shows the declared limit fits. `null` waits for the first answer. Default 0.01 —
   * a loopback or in-region round trip with room to spare; raise it to about one round trip for a
   * distant provider whose declared limit you doubt.
   */
  readonly slowStartProbeSeconds?: number | null | undefined
}

export interface ResolvedConfig {
  readonly models: ReadonlyArray<ModelRegistration>
  readonly initialLimits: ReadonlyMap<string, number>
  readonly maxLimitClamps: ReadonlyMap<string, number>
  readonly cooldownMs: number
  readonly decreaseFactor: number
  readonly additiveIncreaseStep: number
  readonly successesUntilIncrease: number
  readonly startupRampMs: number
  readonly queueWaitTimeoutSeconds: number | null
  readonly eventBufferSize: number
  readonly decreaseToInFlight: boolean
  readonly halfOpenCooldown: boolean
  readonly ceilingProbeBackoff: boolean
  readonly slowStart: boolean
  /** `undefined`: `defaultSlowStartWindow(limit)`. */
  readonly slowStartInitialWindow: number | undefined
  /** `null`: the first wave opens at the first answer only. */
  readonly slowStartProbeMs: number | null
}

export const defaultConfig = {
  cooldownSeconds: 2,
  decreaseFactor: 0.75,
  additiveIncreaseStep: 1,
  successesUntilIncrease: 25,
  startupRampSeconds: 0,
  queueWaitTimeoutSeconds: null,
  eventBufferSize: 4096,
  decreaseToInFlight: true,
  halfOpenCooldown: true,
  ceilingProbeBackoff: true,
  slowStart: true,
  slowStartProbeSeconds: 0.01
} as const

/** The default first slow-start window for a limit: three quarters of it, at least 4. */
export const defaultSlowStartWindow = (limit: number): number => Math.max(4, Math.ceil(limit * 0.75))

const fail = (field: string, message: string) => Effect.fail(new RequestAdmissionConfigError({ field, message }))

const positiveInt = (n: number) => Number.isInteger(n) && n >= 1

const validateLimits = (field: string, record: Readonly<Record<string, number>> | undefined) => {
  const out = new Map<string, number>()
  for (const [label, value] of Object.entries(record ?? {})) {
    if (!positiveInt(value)) return fail(`${field}.${label}`, "must be an integer ≥ 1")
    out.set(label, value)
  }
  return Effect.succeed(out)
}

export const resolveConfig = Effect.fnUntraced(function*(config: RequestAdmissionConfig) {
  const cooldownSeconds = config.cooldownSeconds ?? defaultConfig.cooldownSeconds
  const decreaseFactor = config.decreaseFactor ?? defaultConfig.decreaseFactor
  const step = config.additiveIncreaseStep ?? defaultConfig.additiveIncreaseStep
  const successes = config.successesUntilIncrease ?? defaultConfig.successesUntilIncrease
  const ramp = config.startupRampSeconds ?? defaultConfig.startupRampSeconds
  const timeout = config.queueWaitTimeoutSeconds === undefined
    ? defaultConfig.queueWaitTimeoutSeconds
    : config.queueWaitTimeoutSeconds
  const buffer = config.eventBufferSize ?? defaultConfig.eventBufferSize
  const slowStartWindow = config.slowStartInitialWindow
  const probe = config.slowStartProbeSeconds === undefined
    ? defaultConfig.slowStartProbeSeconds
    : config.slowStartProbeSeconds
  if (!(cooldownSeconds > 0 && Number.isFinite(cooldownSeconds))) {
    return yield* fail("cooldownSeconds", "must be a finite number > 0")
  }
  if (!(decreaseFactor > 0 && decreaseFactor < 1)) return yield* fail("decreaseFactor", "must be in (0, 1)")
  if (!positiveInt(step)) return yield* fail("additiveIncreaseStep", "must be an integer ≥ 1")
  if (!positiveInt(successes)) return yield* fail("successesUntilIncrease", "must be an integer ≥ 1")
  if (!(ramp >= 0 && Number.isFinite(ramp))) return yield* fail("startupRampSeconds", "must be a finite number ≥ 0")
  if (timeout !== null && !(timeout >= 0)) return yield* fail("queueWaitTimeoutSeconds", "must be ≥ 0 or null")
  if (!positiveInt(buffer)) return yield* fail("eventBufferSize", "must be an integer ≥ 1")
  if (slowStartWindow !== undefined && !positiveInt(slowStartWindow)) {
    return yield* fail("slowStartInitialWindow", "must be an integer ≥ 1")
  }
  if (probe !== null && !(probe >= 0 && Number.isFinite(probe))) {
    return yield* fail("slowStartProbeSeconds", "must be a finite number ≥ 0 or null")
  }
  const models = config.models ?? []
  for (let i = 0; i < models.length; i++) {
    if (!positiveInt(models[i]!.maxParallelRequests)) {
      return yield* fail(`models[${i}].maxParallelRequests`, "must be an integer ≥ 1")
    }
  }
  const resolved: ResolvedConfig = {
    models,
    initialLimits: yield* validateLimits("initialLimits", config.initialLimits),
    maxLimitClamps: yield* validateLimits("maxLimitClamps", config.maxLimitClamps),
    cooldownMs: cooldownSeconds * 1000,
    decreaseFactor,
    additiveIncreaseStep: step,
    successesUntilIncrease: successes,
    startupRampMs: ramp * 1000,
    queueWaitTimeoutSeconds: timeout,
    eventBufferSize: buffer,
    decreaseToInFlight: config.decreaseToInFlight ?? defaultConfig.decreaseToInFlight,
    halfOpenCooldown: config.halfOpenCooldown ?? defaultConfig.halfOpenCooldown,
    ceilingProbeBackoff: config.ceilingProbeBackoff ?? defaultConfig.ceilingProbeBackoff,
    slowStart: (config.slowStart ?? defaultConfig.slowStart) && ramp === 0,
    slowStartInitialWindow: slowStartWindow,
    slowStartProbeMs: probe === null ? null : probe * 1000
  }
  return resolved
})
