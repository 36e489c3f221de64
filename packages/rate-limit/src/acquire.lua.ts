/**
 * The limiter's one write path, run atomically in Redis so every dispatcher replica shares it.
 *
 * For up to `want` sends it: trims each sliding-window log, picks a provider by smooth weighted
 * round-robin among the eligible ones (not excluded, not backing off, probe tokens left if probing,
 * room in its window, and its pace), checks the global window and pace, and records the
 * reservation in both logs. Nothing is recorded unless both logs have room.
 *
 * What a log entry's score means: a moment by which the provider has surely counted the send. A new
 * reservation cannot have reached the provider before now (Redis TIME, one clock for all replicas),
 * and it is recorded as in flight, at now + inFlightMs, until MARK_ANSWERED_LUA moves it to the
 * moment its answer (or network error) was back, when the provider had certainly counted it. An
 * entry leaves the log W ms (1 s plus a small margin) after its score. So a send granted now is at
 * least one second after every arrival still outside the log: the limit holds by causality, not
 * by an assumption about how long requests take to travel, however loaded the hosts are.
 *
 * Pacing: the logs alone would hand out a whole window's budget the moment room opens; each
 * provider (and the global limit) also has a theoretical arrival time (GCRA): grants are spaced
 * W/limit apart, with PACE_TOLERANCE_MS of slack; a grant that came up to PACE_CATCH_UP_MS late
 * does not push the schedule back (tat advances from the previous tat, not from now).
 *
 * KEYS: globalWindow, wrrState, distributionCounts, paceState, then per provider: window, backoff,
 *   probeTokens, then (when intentCount > 0) one intent key per requested slot, in waiter order
 * ARGV: windowMs, globalLimit, providerCount, want, memberTag, intentCount, intentTtlMs, inFlightMs,
 *   then per provider: id, limit, weight, mode(a|p|x), then one intent payload per intent key
 * Returns: { waitMs, id1, member1, id2, member2, ... } where waitMs is '0' when all `want` were granted,
 * the ms until room may open otherwise, or '-1' when no provider is a candidate at all (all excluded
 * or out of probes). Room held by a send still in flight opens when its answer comes, which only
 * MARK_ANSWERED_LUA knows: such a wait is PENDING_RECHECK_MS. For the g-th grant the script also
 * sets the g-th intent key to `<provider> <payload>`, atomically with the reservation: a sender that
 * crashes after the grant leaves a record of where the message may have gone, without a round trip
 * between grant and send.
 */
export const ACQUIRE_LUA = `
local PACE_TOLERANCE_MS = 2
local PACE_CATCH_UP_MS = 2
local PENDING_RECHECK_MS = 10
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local W = tonumber(ARGV[1])
local G = tonumber(ARGV[2])
local n = tonumber(ARGV[3])
local want = tonumber(ARGV[4])
local tag = ARGV[5]
local intents = tonumber(ARGV[6])
local intentTtl = tonumber(ARGV[7])
local inFlight = tonumber(ARGV[8])
local P = 9
local cutoff = now - W

redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', cutoff)
local gcount = redis.call('ZCARD', KEYS[1])

local ids, limits, weights, modes, counts, backoff, probes, tat, spacing, tol = {}, {}, {}, {}, {}, {}, {}, {}, {}, {}
for i = 1, n do
  local a = P + 4 * (i - 1)
  ids[i] = ARGV[a]
  limits[i] = tonumber(ARGV[a + 1])
  weights[i] = tonumber(ARGV[a + 2])
  modes[i] = ARGV[a + 3]
  spacing[i] = W / limits[i]
  tol[i] = PACE_TOLERANCE_MS
  local k = 5 + 3 * (i - 1)
  redis.call('ZREMRANGEBYSCORE', KEYS[k], '-inf', cutoff)
  counts[i] = redis.call('ZCARD', KEYS[k])
  backoff[i] = redis.call('PTTL', KEYS[k + 1])
  if modes[i] == 'p' then
    probes[i] = tonumber(redis.call('GET', KEYS[k + 2]) or '0')
  else
    probes[i] = 1
  end
end

local paceFields = { '_global' }
for i = 1, n do paceFields[i + 1] = ids[i] end
local pace = redis.call('HMGET', KEYS[4], unpack(paceFields))
local gtat = tonumber(pace[1] or '0')
local gspacing = W / G
local gtol = PACE_TOLERANCE_MS
for i = 1, n do tat[i] = tonumber(pace[i + 1] or '0') end

local cw = redis.call('HMGET', KEYS[2], unpack(ids))
for i = 1, n do cw[i] = tonumber(cw[i] or '0') end

local function candidate(i)
  return modes[i] ~= 'x' and probes[i] > 0
end
local function eligible(i)
  return candidate(i) and backoff[i] <= 0 and counts[i] < limits[i] and tat[i] - now <= tol[i]
end

local granted = {}
for g = 1, want do
  if gcount >= G or gtat - now > gtol then break end
  local total, best = 0, nil
  for i = 1, n do
    if eligible(i) then
      cw[i] = cw[i] + weights[i]
      total = total + weights[i]
      if best == nil or cw[i] > cw[best] then best = i end
    end
  end
  if best == nil then break end
  cw[best] = cw[best] - total
  local member = tag .. ':' .. g
  local k = 5 + 3 * (best - 1)
  redis.call('ZADD', KEYS[k], now + inFlight, member)
  redis.call('ZADD', KEYS[1], now + inFlight, member)
  counts[best] = counts[best] + 1
  gcount = gcount + 1
  tat[best] = math.max(tat[best], now - PACE_CATCH_UP_MS) + spacing[best]
  gtat = math.max(gtat, now - PACE_CATCH_UP_MS) + gspacing
  if modes[best] == 'p' then
    redis.call('DECR', KEYS[k + 2])
    probes[best] = probes[best] - 1
  end
  redis.call('HINCRBY', KEYS[3], ids[best], 1)
  if g <= intents then
    redis.call('SET', KEYS[4 + 3 * n + g], ids[best] .. ' ' .. ARGV[P + 4 * n + g - 1], 'PX', intentTtl)
  end
  granted[#granted + 1] = ids[best]
  granted[#granted + 1] = member
end

if #granted > 0 then
  local flat, paceFlat = {}, { '_global', tostring(gtat) }
  for i = 1, n do
    flat[#flat + 1] = ids[i]
    flat[#flat + 1] = tostring(cw[i])
    paceFlat[#paceFlat + 1] = ids[i]
    paceFlat[#paceFlat + 1] = tostring(tat[i])
  end
  redis.call('HSET', KEYS[2], unpack(flat))
  redis.call('HSET', KEYS[4], unpack(paceFlat))
  local ttl = math.ceil(W + inFlight) + 1000
  redis.call('PEXPIRE', KEYS[1], ttl)
  redis.call('PEXPIRE', KEYS[4], ttl)
  for i = 1, n do redis.call('PEXPIRE', KEYS[5 + 3 * (i - 1)], ttl) end
end

if #granted == 2 * want then
  return { '0', unpack(granted) }
end

-- When could the next send go? The earliest moment any candidate provider has room and pace, and
-- not before the global window has room and pace.
local function opensIn(key, idx)
  local entry = redis.call('ZRANGE', key, idx, idx, 'WITHSCORES')
  local score = tonumber(entry[2])
  if score > now then return PENDING_RECHECK_MS end
  return score + W - now
end

local wait = nil
for i = 1, n do
  if candidate(i) then
    local w = 0
    if backoff[i] > 0 then w = backoff[i] end
    if counts[i] >= limits[i] then
      local open = opensIn(KEYS[5 + 3 * (i - 1)], counts[i] - limits[i])
      if open > w then w = open end
    end
    local paceOpen = tat[i] - tol[i] - now
    if paceOpen > w then w = paceOpen end
    if wait == nil or w < wait then wait = w end
  end
end
if wait == nil then
  return { '-1', unpack(granted) }
end
if gcount >= G then
  local open = opensIn(KEYS[1], gcount - G)
  if open > wait then wait = open end
end
local gpaceOpen = gtat - gtol - now
if gpaceOpen > wait then wait = gpaceOpen end
if wait < 0 then wait = 0 end
return { tostring(wait), unpack(granted) }
`;

/**
 * Read-only view of the same windows: counts in (now - W, now], back-off and probe tokens.
 * KEYS: globalWindow, then per provider: window, backoff, probeTokens. ARGV: windowMs, providerCount.
 * Returns { globalCount, c1, backoff1, probes1, c2, ... } (probes -1 when the key is absent).
 */
export const SNAPSHOT_LUA = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local cutoff = now - tonumber(ARGV[1])
local out = { redis.call('ZCOUNT', KEYS[1], '(' .. cutoff, '+inf') }
for i = 1, tonumber(ARGV[2]) do
  local k = 2 + 3 * (i - 1)
  out[#out + 1] = redis.call('ZCOUNT', KEYS[k], '(' .. cutoff, '+inf')
  local p = redis.call('PTTL', KEYS[k + 1])
  if p < 0 then p = 0 end
  out[#out + 1] = p
  out[#out + 1] = tonumber(redis.call('GET', KEYS[k + 2]) or '-1')
end
return out
`;

/**
 * Gives back a reservation that was never used (its sender stalled past the point where sending
 * could still keep the promise), and the pace it took, so a stalled sender costs no throughput.
 * KEYS: providerWindow, globalWindow, distributionCounts, paceState.
 * ARGV: member, provider id, provider spacing ms, global spacing ms. Returns 1 when it was still held.
 */
export const RELEASE_LUA = `
local removed = redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('ZREM', KEYS[2], ARGV[1])
if removed == 1 then
  redis.call('HINCRBY', KEYS[3], ARGV[2], -1)
  local pace = redis.call('HMGET', KEYS[4], ARGV[2], '_global')
  if pace[1] then redis.call('HSET', KEYS[4], ARGV[2], tostring(tonumber(pace[1]) - tonumber(ARGV[3]))) end
  if pace[2] then redis.call('HSET', KEYS[4], '_global', tostring(tonumber(pace[2]) - tonumber(ARGV[4]))) end
end
return removed
`;

/**
 * Moves a reservation to the moment its answer (or network error) was back: the provider counted
 * the send before it answered, so from now on the entry only has to stay W ms from this moment.
 * Until then it sat at grant + inFlightMs (see ACQUIRE_LUA). Redis TIME at this call is after the
 * answer was read, whatever the sender's process or the network did in between.
 * KEYS: providerWindow, globalWindow. ARGV: member. Returns 1 when the reservation was still held.
 */
export const MARK_ANSWERED_LUA = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local held = 0
for i = 1, 2 do
  if redis.call('ZSCORE', KEYS[i], ARGV[1]) then
    held = 1
    redis.call('ZADD', KEYS[i], 'XX', now, ARGV[1])
  end
end
return held
`;
