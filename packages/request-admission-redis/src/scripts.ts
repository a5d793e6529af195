/**
 * The lease table's atomic scripts. Redis runs each one alone, so a script sees and changes the state of a
 * resource in one step: no interleaving between workers, no read-then-write race. Every time comes from
 * Redis's own `TIME`, so the workers' clocks are never compared.
 *
 * Keys of one resource `K`: `K:state` (HASH: limit, max, blockedUntil, streak, ceiling, probeFailures,
 * consecutive, seq), `K:leases` (ZSET: member `worker|seq|admittedLimit`, score = expiry in ms), `K:holders`
 * (HASH: worker → leases held), `K:waiting` (ZSET: worker → until when it counts as waiting). A release that frees
 * capacity wakes the waiting workers that hold the fewest leases (as many as there are free slots) on their own
 * channels `K:wake:<worker>`, rather than every worker at once.
 *
 * The AIMD rules are the in-process controller's (`@sluice/request-admission`), without its startup ramp, slow
 * start and half-open probes: ×factor once per cascade (only a lease admitted at or below the current limit
 * decreases it), the cooldown is Retry-After or the default and never shortened, the limit drops to what was in
 * flight when `decreaseToInFlight` is on, +step per `successesUntilIncrease` successes outside a cooldown (2^k ×
 * as many to climb back to a ceiling after k failed probes there), clamped to [1, max].
 */
import * as Redis from "effect/persistence/Redis"

/** Shared by every script: the clock, the reaper, and the state record. */
const prelude = `
local state, leases, holders, waiting = KEYS[1], KEYS[2], KEYS[3], KEYS[4]

-- Redis's clock in ms. A test may freeze it by setting the state field frozenNowMs (workers never write it).
local function now_ms()
  local frozen = redis.call('HGET', state, 'frozenNowMs')
  if frozen then return tonumber(frozen) end
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

local function worker_of(member)
  return string.match(member, '^(.*)|[^|]*|[^|]*$')
end

local function drop_holder(worker, n)
  if redis.call('HINCRBY', holders, worker, -n) <= 0 then redis.call('HDEL', holders, worker) end
end

-- Crash recovery: a lease whose expiry has passed is gone, and so is its holder's count.
local function reap(now)
  local expired = redis.call('ZRANGEBYSCORE', leases, '-inf', now)
  for _, member in ipairs(expired) do drop_holder(worker_of(member), 1) end
  if #expired > 0 then redis.call('ZREMRANGEBYSCORE', leases, '-inf', now) end
  return #expired
end

local FIELDS = { 'limit', 'max', 'blockedUntil', 'streak', 'ceiling', 'probeFailures', 'consecutive', 'seq' }

-- The state, created at min(initial, max) on first use. A lower max clamps the limit at once; a higher one
-- forgets failed probes (the ceiling additive increase climbs to was lifted).
local function load(max, initial)
  local v = redis.call('HMGET', state, unpack(FIELDS))
  local s = {}
  if v[1] then
    for i, f in ipairs(FIELDS) do s[f] = tonumber(v[i]) or 0 end
  else
    for _, f in ipairs(FIELDS) do s[f] = 0 end
    s.limit = math.max(1, math.min(initial, max))
    s.max = max
  end
  if max > s.max then s.probeFailures = 0 end
  s.max = max
  if s.limit > max then s.limit = max end
  return s
end

local function save(s)
  local args = {}
  for _, f in ipairs(FIELDS) do
    args[#args + 1] = f
    args[#args + 1] = string.format('%d', s[f])
  end
  redis.call('HSET', state, unpack(args))
end
`

/**
 * `acquire(worker, want, ttlMs, max, initial, waitingTtlMs)` → `[granted, waitMs, limit, inFlight, members]`.
 * Reaps expired leases; during a cooldown grants nothing and says how long it lasts; otherwise grants up to
 * `want` of the free leases, but no more than the worker's fair share (`ceil(limit / waiting workers)` minus what
 * it holds) while other workers wait. A worker that got less than it wanted counts as waiting for `waitingTtlMs`.
 */
const acquireLua = prelude + `
local worker, want, ttl = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local max, initial, waitingTtl = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
local now = now_ms()
reap(now)
redis.call('ZREMRANGEBYSCORE', waiting, '-inf', now)
local s = load(max, initial)
local inFlight = redis.call('ZCARD', leases)
if now < s.blockedUntil then
  redis.call('ZADD', waiting, now + waitingTtl, worker)
  save(s)
  return { 0, s.blockedUntil - now, s.limit, inFlight, {} }
end
local grant = math.min(want, s.limit - inFlight)
local others = redis.call('ZCARD', waiting)
if redis.call('ZSCORE', waiting, worker) then others = others - 1 end
if others > 0 then
  local held = tonumber(redis.call('HGET', holders, worker) or '0')
  grant = math.min(grant, math.ceil(s.limit / (others + 1)) - held)
end
if grant < 0 then grant = 0 end
local members = {}
for i = 1, grant do
  s.seq = s.seq + 1
  local member = worker .. '|' .. string.format('%d', s.seq) .. '|' .. string.format('%d', s.limit)
  redis.call('ZADD', leases, now + ttl, member)
  members[i] = member
end
if grant > 0 then redis.call('HINCRBY', holders, worker, grant) end
if grant < want then
  redis.call('ZADD', waiting, now + waitingTtl, worker)
else
  redis.call('ZREM', waiting, worker)
end
save(s)
return { grant, 0, s.limit, inFlight + grant, members }
`

/**
 * `release(member, outcome, retryAfterSeconds, channel, max, initial, factor, step, successesUntilIncrease,
 * cooldownMs, decreaseToInFlight, ceilingProbeBackoff)` → `[released, limit, blockedUntil, inFlight, woken]`.
 * `released = 0`: the lease had expired (or was released before) and nothing changed. `woken`: the waiting workers
 * told to ask again (the releasing worker itself is told by the reply, not by a message).
 */
const releaseLua = prelude + `
local member, outcome, retryAfter, wakePrefix = ARGV[1], ARGV[2], tonumber(ARGV[3]), ARGV[4]
local max, initial, factor, step = tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7]), tonumber(ARGV[8])
local base, cooldownMs = tonumber(ARGV[9]), tonumber(ARGV[10])
local toInFlight, probeBackoff = ARGV[11] == '1', ARGV[12] == '1'
local now = now_ms()
reap(now)
local s = load(max, initial)
if redis.call('ZREM', leases, member) == 0 then
  return { 0, s.limit, s.blockedUntil, redis.call('ZCARD', leases), {} }
end
local releaser = worker_of(member)
drop_holder(releaser, 1)
local admitted = tonumber(string.match(member, '|([^|]*)$'))
local inFlight = redis.call('ZCARD', leases)

if outcome == 'rate_limited' then
  s.consecutive = s.consecutive + 1
  s.streak = 0
  local cooldown = cooldownMs
  if retryAfter and retryAfter > 0 and retryAfter < math.huge then cooldown = retryAfter * 1000 end
  -- A later 429 never shortens an active cooldown.
  s.blockedUntil = math.max(s.blockedUntil, now + math.ceil(cooldown))
  -- Once per cascade: a lease admitted above the current limit was part of a burst already punished.
  if admitted <= s.limit then
    s.limit = math.max(1, math.floor(s.limit * factor))
    if s.ceiling > 0 and admitted >= s.ceiling then
      s.probeFailures = s.probeFailures + 1
    else
      s.probeFailures = 0
    end
    s.ceiling = math.max(1, admitted)
  end
  -- The provider refused while inFlight others ran: its capacity is at most that.
  if toInFlight and inFlight < s.limit then s.limit = math.max(1, inFlight) end
elseif outcome == 'success' then
  if not (s.blockedUntil ~= 0 and now < s.blockedUntil) then
    s.consecutive = 0
    s.streak = s.streak + 1
    if s.streak >= base then
      if s.probeFailures > 0 and s.limit >= s.ceiling then s.probeFailures = 0 end
      local needed = base
      if probeBackoff and s.ceiling > 0 and s.limit + step >= s.ceiling then
        needed = base * math.pow(2, s.probeFailures)
      end
      if s.streak >= needed then
        s.streak = 0
        s.limit = math.min(s.max, s.limit + step)
      end
    end
  end
elseif outcome == 'provider_failure' or outcome == 'provider_timeout' then
  -- Provider trouble other than a 429: do not climb on a streak that spans it.
  s.streak = 0
  if inFlight == 0 then s.consecutive = 0 end
end
save(s)
-- Wake the waiting workers furthest below their share, one per free slot (oldest waiting first among equals).
local woken = {}
local free = s.limit - inFlight
if free > 0 and now >= s.blockedUntil then
  redis.call('ZREMRANGEBYSCORE', waiting, '-inf', now)
  local entries = {}
  for i, w in ipairs(redis.call('ZRANGE', waiting, 0, -1)) do
    entries[i] = { w, tonumber(redis.call('HGET', holders, w) or '0'), i }
  end
  table.sort(entries, function(a, b)
    if a[2] ~= b[2] then return a[2] < b[2] end
    return a[3] < b[3]
  end)
  for i = 1, math.min(free, #entries) do
    local w = entries[i][1]
    woken[i] = w
    if w ~= releaser then redis.call('PUBLISH', wakePrefix .. w, '1') end
  end
end
return { 1, s.limit, s.blockedUntil, inFlight, woken }
`

/**
 * `heartbeat(ttlMs, n1, members of resource 1…, n2, …)` over `KEYS = [state1, leases1, state2, leases2, …]` →
 * the members that could not be renewed (already expired, reaped or released). One call renews every lease a
 * worker holds; an expired lease is never brought back.
 */
const heartbeatLua = `
local ttl = tonumber(ARGV[1])
local lost = {}
local arg = 2
for k = 1, #KEYS, 2 do
  local state, leases = KEYS[k], KEYS[k + 1]
  local now
  local frozen = redis.call('HGET', state, 'frozenNowMs')
  if frozen then
    now = tonumber(frozen)
  else
    local t = redis.call('TIME')
    now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
  end
  local n = tonumber(ARGV[arg])
  arg = arg + 1
  for i = 1, n do
    local member = ARGV[arg]
    arg = arg + 1
    local score = tonumber(redis.call('ZSCORE', leases, member))
    if score and score > now then
      redis.call('ZADD', leases, 'XX', now + ttl, member)
    else
      lost[#lost + 1] = member
    end
  end
end
return lost
`

/** The four keys of one resource, in the order the scripts read them. */
export interface ResourceKeys {
  readonly state: string
  readonly leases: string
  readonly holders: string
  readonly waiting: string
  /** Prefix of the workers' wake-up channels: `K:wake:` + worker. */
  readonly wake: string
}

export const resourceKeys = (prefix: string, label: string): ResourceKeys => {
  const base = `${prefix}${label}`
  return {
    state: `${base}:state`,
    leases: `${base}:leases`,
    holders: `${base}:holders`,
    waiting: `${base}:waiting`,
    wake: `${base}:wake:`
  }
}

const keysOf = (keys: ResourceKeys) => [keys.state, keys.leases, keys.holders, keys.waiting]

export type AcquireReply = [number, number, number, number, Array<string>]
export type ReleaseReply = [number, number, number, number, Array<string>]

export const acquireScript = Redis.script(
  (
    keys: ResourceKeys,
    worker: string,
    want: number,
    ttlMs: number,
    max: number,
    initial: number,
    waitingMs: number
  ) => [
    ...keysOf(keys),
    worker,
    want,
    ttlMs,
    max,
    initial,
    waitingMs
  ],
  { lua: acquireLua, numberOfKeys: 4 }
).withReturnType<AcquireReply>()

export interface AimdParams {
  readonly max: number
  readonly initial: number
  readonly decreaseFactor: number
  readonly additiveIncreaseStep: number
  readonly successesUntilIncrease: number
  readonly cooldownMs: number
  readonly decreaseToInFlight: boolean
  readonly ceilingProbeBackoff: boolean
}

export const releaseScript = Redis.script(
  (keys: ResourceKeys, member: string, outcome: string, retryAfterSeconds: number | undefined, aimd: AimdParams) => [
    ...keysOf(keys),
    member,
    outcome,
    retryAfterSeconds === undefined || !Number.isFinite(retryAfterSeconds) ? "" : retryAfterSeconds,
    keys.wake,
    aimd.max,
    aimd.initial,
    aimd.decreaseFactor,
    aimd.additiveIncreaseStep,
    aimd.successesUntilIncrease,
    aimd.cooldownMs,
    aimd.decreaseToInFlight ? "1" : "0",
    aimd.ceilingProbeBackoff ? "1" : "0"
  ],
  { lua: releaseLua, numberOfKeys: 4 }
).withReturnType<ReleaseReply>()

export const heartbeatScript = Redis.script(
  (ttlMs: number, held: ReadonlyArray<{ readonly keys: ResourceKeys; readonly members: ReadonlyArray<string> }>) => [
    ...held.flatMap(({ keys }) => [keys.state, keys.leases]),
    ttlMs,
    ...held.flatMap(({ members }) => [members.length, ...members])
  ],
  { lua: heartbeatLua, numberOfKeys: (_ttl, held) => held.length * 2 }
).withReturnType<Array<string>>()
