import type { SluiceConfig } from "./schema.js"

/** What replaces a literal header value in a config that is written out. */
export const redactedValue = "[redacted]"

/**
 * The config as it may be written to an output directory or a log: `extraHeaders` values written literally in
 * the config are replaced (they are often tokens); `{ env: NAME }` values stay, since they name a variable, not
 * its value — the value itself is read when a run starts and is never part of the decoded config. API keys never
 * are: a provider names only the variable that holds its key (`apiKeyEnv`).
 */
export const redactedConfig = (config: SluiceConfig): SluiceConfig => ({
  ...config,
  models: config.models.map((model) =>
    model.extraHeaders === undefined ? model : {
      ...model,
      extraHeaders: Object.fromEntries(
        Object.entries(model.extraHeaders).map((
          [name, value]
        ) => [name, typeof value === "string" ? redactedValue : value])
      )
    }
  )
})
