import type { ProviderError } from "@sluice/errors"
import { Clock, Data, Effect, Option } from "effect"
import {
  type ChatCompletion,
  isNoTextAtTokenLimit,
  makeChatCompletion,
  ProviderTransport,
  type ResponseFormat
} from "../client/index.js"
import { unfenced } from "../columns/buildColumns.js"
import type { LoadedConfig } from "../config/loadConfig.js"
import type { ModelConfig } from "../config/schema.js"
import { resolveModelHeaders, wireRequestOf } from "./modelRequests.js"
import { startProviders } from "./providers.js"

/** One probe of one model: a tiny plain request, or (for models behind structured columns) a JSON-schema one. */
export interface ProbeResult {
  readonly alias: string
  readonly model: string
  readonly provider: string
  readonly probe: "text" | "structured"
  readonly ok: boolean
  readonly latencyMs: number
  /** On failure: the provider's own words (or the OS's), else our description. */
  readonly error?: string
  /** On success, anything worth saying (e.g. that the answer was a 429). */
  readonly note?: string
  readonly status?: number
}

/** Some model did not answer its probe (exit code 4: the config is fine, the provider or model is not). */
export class ModelCheckFailedError extends Data.TaggedError("ModelCheckFailedError")<{
  readonly failed: ReadonlyArray<ProbeResult>
}> {
  readonly exitCode = 4
  override get message(): string {
    const names = [...new Set(this.failed.map((r) => r.alias))]
    return `${names.length} model${names.length === 1 ? "" : "s"} did not answer the check (${names.join(", ")}); ` +
      "see above, or run again with --no-check to skip it"
  }
}

const transientKinds = new Set(["internal_server", "malformed_response"])

const probeSchema = {
  type: "object",
  properties: { ok: { type: "boolean" } },
  required: ["ok"],
  additionalProperties: false
}

// Small answers, but room enough for a reasoning model to finish thinking and for `{"ok": true}`.
const probeTokens = 64
const maxProbeSeconds = 60

/** The model as the probe calls it: few tokens, and its own timeout (the model's, else its provider's), at most 60 s. */
const probeModel = (model: ModelConfig, providerTimeoutSeconds: number): ModelConfig => ({
  ...model,
  ...(model.maxCompletionTokens === undefined
    ? { maxTokens: Math.min(model.maxTokens ?? probeTokens, probeTokens) }
    : {}),
  timeoutSeconds: Math.min(model.timeoutSeconds ?? providerTimeoutSeconds, maxProbeSeconds)
})

const describeFailure = (error: ProviderError): string => {
  const words = error.providerMessage !== undefined && error.providerMessage !== ""
    ? error.providerMessage
    : error.message
  return `${error.status === undefined ? error.kind : `${error.status} ${error.kind}`}: ${words.replace(/\s+/g, " ")}`
}

/**
 * Sends each model alias one tiny request — and one structured-output request to models that structured columns
 * call (strict when a column asks for it) — straight to its provider: no admission, no retries, so the answer
 * (or the provider's error) is the model's own. Probes run at once, one per model and kind.
 */
export const checkModels = Effect.fnUntraced(function*(loaded: LoadedConfig) {
  const { config } = loaded
  const providers = yield* startProviders(loaded.file, config)
  const headers = yield* resolveModelHeaders(loaded.file, config.models)
  const chatCompletion = makeChatCompletion(yield* ProviderTransport)
  const probes = config.models.flatMap((model) => {
    const structured = loaded.columns.filter((c) => c.model?.alias === model.alias && c.outputSchema !== undefined)
    const strict = structured.some((c) => c.config.type === "llm-structured" && c.config.strict)
    const format: ResponseFormat = { type: "json_schema", name: "sluice_check", schema: probeSchema, strict }
    return [
      { model, probe: "text" as const, format: undefined },
      ...(structured.length === 0 ? [] : [{ model, probe: "structured" as const, format }])
    ]
  })
  return yield* Effect.forEach(probes, ({ format, model, probe }) =>
    Effect.gen(function*() {
      // The config check guarantees every model's provider exists.
      const runtime = providers.get(model.provider)!
      const question = probe === "text" ? "Reply with the single word: ok" : "Reply with the JSON {\"ok\": true}"
      const request = wireRequestOf(
        runtime,
        probeModel(model, runtime.timeoutSeconds),
        headers.get(model),
        [{ role: "user", content: question }],
        format
      )
      const started = yield* Clock.currentTimeMillis
      const outcome = yield* chatCompletion(request).pipe(
        // A server error or a garbled answer may be a glitch of one answer: the probe tries twice more.
        Effect.retry({ times: 2, while: (error) => transientKinds.has(error.kind) }),
        Effect.result
      )
      const latencyMs = (yield* Clock.currentTimeMillis) - started
      const base = { alias: model.alias, model: model.model, provider: model.provider, probe, latencyMs }
      if (outcome._tag === "Failure" && outcome.failure.kind === "rate_limit") {
        // A 429 is an answer: the endpoint, the model and the key are right; the run will wait its turn.
        return { ...base, ok: true, note: "rate limited (429): endpoint, model and key accepted" }
      }
      if (outcome._tag === "Failure" && isNoTextAtTokenLimit(outcome.failure)) {
        // The probe's few tokens went to the model's reasoning: it answered; a run's own token limit applies there.
        return { ...base, ok: true, note: `answered, but the probe's ${probeTokens}-token limit came before any text` }
      }
      if (outcome._tag === "Failure") {
        const error = outcome.failure
        return {
          ...base,
          ok: false,
          error: describeFailure(error),
          ...(error.status === undefined ? {} : { status: error.status })
        } satisfies ProbeResult
      }
      const problem = probe === "structured" ? structuredProblem(outcome.success) : undefined
      return { ...base, ok: problem === undefined, ...(problem === undefined ? {} : { error: problem }) }
    }), { concurrency: "unbounded" })
}, Effect.scoped)

// A structured probe passes when the answer is JSON (one cut off by the token limit still proves the model takes
// the response format).
const parseJson = Option.liftThrowable((text: string): unknown => JSON.parse(text))

const structuredProblem = (completion: ChatCompletion): string | undefined =>
  completion.finishReason === "length" || Option.isSome(parseJson(unfenced(completion.content)))
    ? undefined
    : `asked for JSON (response_format json_schema), got: ${completion.content.slice(0, 120)}`

/** One line per probe: `✓ writer (mock-writer on local) answered in 42 ms` or the provider's error. */
export const formatProbe = (result: ProbeResult): string => {
  const what = `${result.alias} (${result.model} on ${result.provider})${
    result.probe === "structured" ? ", structured output" : ""
  }`
  return result.ok
    ? `  ok    ${what}: answered in ${result.latencyMs} ms${result.note === undefined ? "" : ` (${result.note})`}`
    : `  FAIL  ${what}: ${result.error ?? "failed"} (after ${result.latencyMs} ms)`
}
