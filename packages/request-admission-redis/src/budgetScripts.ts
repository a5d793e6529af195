/**
 * The shared RPM / TPM budget of one provider/model: two token buckets in one Redis hash, `K:budget` (fields
 * `requests`, `tokens`, `at`), changed only by these atomic scripts and timed by Redis's own `TIME`. The rules are
 * the in-process controller's (`@sluice/request-admission`): each bucket holds at most `burstSeconds` worth (at
 * least 1) and refills continuously; a call takes 1 request and its estimated tokens, or waits; a call needing more tokens
 * than a minute's worth waits for a full bucket and takes it into debt; the release's usage corrects the estimate.
 *
 * A rate of 0 means "no such budget". The rates come with every call (from the worker's config), so a changed
 * rate applies at once; a level above a lowered rate is clamped.
 */
import * as Redis from "effect/persistence/Redis"

const prelude = `
local key = KEYS[1]
local rpm, tpm, burst = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local rcap, tcap = math.max(1, rpm * burst / 60), math.max(1, tpm * burst / 60)

-- Redis's clock in ms. A test may freeze it by setting the field frozenNowMs (workers never write it).
local function now_ms()
  local frozen = redis.call('HGET', key, 'frozenNowMs')
  if frozen then return tonumber(frozen) end
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

local now = now_ms()
local v = redis.call('HMGET', key, 'requests', 'tokens', 'at')
local requests, tokens = tonumber(v[1]) or rcap, tonumber(v[2]) or tcap
local elapsed = math.max(0, now - (tonumber(v[3]) or now))
requests = math.min(rcap, requests + elapsed * rpm / 60000)
tokens = math.min(tcap, tokens + elapsed * tpm / 60000)

local function save()
  redis.call('HSET', key, 'requests', string.format('%.17g', requests), 'tokens', string.format('%.17g', tokens),
    'at', string.format('%d', now))
  -- Idle for a minute, both buckets are full again: the hash is not needed any more.
  redis.call('PEXPIRE', key, 120000)
end
`

/**
 * `take(rpm, tpm, burst, cost)` → `[waitMs, requests, tokens]`: takes 1 request and `cost` tokens when both fit (waitMs
 * 0), else takes nothing and says how long until they will.
 */
const takeLua = prelude + `
local cost = tonumber(ARGV[4])
local wait = 0
if rpm > 0 and requests < 1 - 1e-9 then wait = math.ceil((1 - requests) * 60000 / rpm) end
if tpm > 0 then
  local need = math.min(cost, tcap)
  if tokens < need - 1e-9 then wait = math.max(wait, math.ceil((need - tokens) * 60000 / tpm)) end
end
if wait == 0 then
  if rpm > 0 then requests = requests - 1 end
  if tpm > 0 then tokens = tokens - cost end
end
save()
return { wait, string.format('%.17g', requests), string.format('%.17g', tokens) }
`

/** `adjust(rpm, tpm, burst, requests, tokens)`: gives back (or, negative, takes) requests and tokens; never above a full bucket. */
const adjustLua = prelude + `
if rpm > 0 then requests = math.min(rcap, requests + tonumber(ARGV[4])) end
if tpm > 0 then tokens = math.min(tcap, tokens + tonumber(ARGV[5])) end
save()
return { string.format('%.17g', requests), string.format('%.17g', tokens) }
`

export interface BudgetRates {
  /** 0: no request budget. */
  readonly requestsPerMinute: number
  /** 0: no token budget. */
  readonly tokensPerMinute: number
  /** Each bucket holds this many seconds' worth (60: a full minute's). */
  readonly burstSeconds: number
}

export const budgetKey = (prefix: string, providerModelLabel: string): string => `${prefix}${providerModelLabel}:budget`

export const takeScript = Redis.script(
  (key: string, rates: BudgetRates, cost: number) => [
    key,
    rates.requestsPerMinute,
    rates.tokensPerMinute,
    rates.burstSeconds,
    cost
  ],
  { lua: takeLua, numberOfKeys: 1 }
).withReturnType<[number, string, string]>()

export const adjustScript = Redis.script(
  (key: string, rates: BudgetRates, requests: number, tokens: number) => [
    key,
    rates.requestsPerMinute,
    rates.tokensPerMinute,
    rates.burstSeconds,
    requests,
    tokens
  ],
  { lua: adjustLua, numberOfKeys: 1 }
).withReturnType<[string, string]>()
