"""The store's steps in Lua, and the ONE script that runs them: every store step that the
requests of one event-loop turn ask is sent as one EVALSHA of `STEPS_SOURCE` (`connection.py`),
so the cost of a round trip (~0.1 ms of CPU, most of a request's time) is paid once per turn,
not once per step. Each step is atomic, and so is a whole batch: two replicas can never
interleave inside one (the one-ACTIVE-session-per-agent rule holds under concurrent starts).

Its one argument is the batch in JSON, `[[name, key prefix, [argument, ...], guard?], ...]` with
every argument a string (one argument: redis-py packs each argument in Python, ~3 us apiece, and
a batch held hundreds). It answers one value per step, in order: the step's answer (Lua false or
nil as nil) or, for a step that failed, an error reply of that step alone. A step with a guard
(a key suffix: the bearer token of the request that asks it) runs only if that key exists, in
the same atomic step; else it answers the error `GUARD ...` and changes nothing.

Keys under a prefix: `s:ID` a session's JSON; `active` agent -> ACTIVE session id; `active_order`
/ `ended` ids by order; `c:CUSTOMER` that customer's session ids; `order` the counter of both
orders; `number` the session number's counter. Tokens: `t:ACCESS` and `r:REFRESH` the token's
JSON, `u:CLIENT\\0USER\\0SCOPES` the reusable access token, `tokens` / `refreshes` what exists,
scored by expiry (ms). The journal: `journal` the capped stream of every replica's requests,
`journal:total` how many it ever took, `journal:cleared` when it was last cleared. Named
tenants: the registry (a key given in full, outside every namespace) scores each by the Redis
time (ms) of its last request on any replica.
"""

from __future__ import annotations

import hashlib

__all__ = ["STEPS_SHA", "STEPS_SOURCE"]

# `p` is the running step's key prefix: the dispatcher sets it before each step, and every
# helper reads it (an upvalue), so a batch may hold the steps of several namespaces (tenants).
_HELPERS = """
local p = ''
local function with_order(json, order)  -- the session's JSON with its place in the order
  return string.sub(json, 1, -2) .. ',"order":' .. order .. '}'
end
local function forget(id)  -- a session's key and customer index entry
  local raw = redis.call('GET', p .. 's:' .. id)
  if raw then redis.call('SREM', p .. 'c:' .. cjson.decode(raw)['customer'], id) end
  redis.call('DEL', p .. 's:' .. id)
end
local function trim(max)  -- the oldest ENDED sessions beyond max
  local over = redis.call('ZCARD', p .. 'ended') - max
  if over <= 0 then return end
  for _, id in ipairs(redis.call('ZRANGE', p .. 'ended', 0, over - 1)) do forget(id) end
  redis.call('ZREMRANGEBYRANK', p .. 'ended', 0, over - 1)
end
local function clear_sessions()
  for _, set in ipairs({'active_order', 'ended'}) do
    for _, id in ipairs(redis.call('ZRANGE', p .. set, 0, -1)) do forget(id) end
  end
  redis.call('DEL', p .. 'active', p .. 'active_order', p .. 'ended', p .. 'number')
end
local function store(id, agent, customer, json, status)
  local order = redis.call('INCR', p .. 'order')
  redis.call('SET', p .. 's:' .. id, with_order(json, order))
  redis.call('SADD', p .. 'c:' .. customer, id)
  if status == 'ACTIVE' then
    redis.call('HSET', p .. 'active', agent, id)
    redis.call('ZADD', p .. 'active_order', order, id)
  else
    redis.call('ZADD', p .. 'ended', order, id)
  end
end
local function read(set)
  local found = {}
  for _, id in ipairs(redis.call('ZRANGE', p .. set, 0, -1)) do
    local raw = redis.call('GET', p .. 's:' .. id)
    if raw then found[#found + 1] = raw end
  end
  return found
end
local function reuse_key(token)
  local user = token['user'] == cjson.null and '-' or ('+' .. token['user'])
  local scopes = table.concat(token['scopes'], ' ')
  return p .. 'u:' .. token['client'] .. '\\0' .. user .. '\\0' .. scopes
end
local step = {}
"""

# Each step reads its arguments from `a` (a[1] is the first after the prefix).
_STEPS = """
-- key suffix -> the value or nil (a token or a session look-up)
function step.get(a) return redis.call('GET', p .. a[1]) end

-- the session stored ACTIVE, the agent's previous one ENDED -> that one's JSON, or false
local function start(id, agent, customer, json, now, max_ended)
  local ended = false
  local previous = redis.call('HGET', p .. 'active', agent)
  if previous and previous ~= id then
    redis.call('ZREM', p .. 'active_order', previous)
    local raw = redis.call('GET', p .. 's:' .. previous)
    if raw then
      local session = cjson.decode(raw)
      session['status'] = 'ENDED'
      session['ended'] = now
      session['order'] = redis.call('INCR', p .. 'order')
      ended = cjson.encode(session)
      redis.call('SET', p .. 's:' .. previous, ended)
      redis.call('ZADD', p .. 'ended', session['order'], previous)
      trim(tonumber(max_ended))
    end
  end
  store(id, agent, customer, json, 'ACTIVE')
  return ended
end

-- id, agent, customer, json, ended_at (ISO), max_ended -> the session it ended, or nil
function step.start_session(a) return start(a[1], a[2], a[3], a[4], a[5], a[6]) end

-- SessionIds in Lua: the UUID (version 4) of the first 16 bytes of SHA-1(prefix .. number)
local function seeded_id(prefix, number)
  local hex = redis.sha1hex(prefix .. number)
  local variant = string.format('%x', tonumber(string.sub(hex, 17, 17), 16) % 4 + 8)
  return string.sub(hex, 1, 8) .. '-' .. string.sub(hex, 9, 12) .. '-4' .. string.sub(hex, 14, 16)
    .. '-' .. variant .. string.sub(hex, 18, 20) .. '-' .. string.sub(hex, 21, 32)
end

-- ids prefix, skip stored ids ('1'/'0'), agent, customer, json with "id":"" first, ended_at,
-- max_ended -> {the new session's id, the session it ended or false}
function step.start_new_session(a)
  local id
  repeat
    id = seeded_id(a[1], redis.call('INCR', p .. 'number') - 1)
  until a[2] ~= '1' or redis.call('EXISTS', p .. 's:' .. id) == 0
  local json = '{"id":"' .. id .. '",' .. string.sub(a[5], string.len('{"id":"",') + 1)
  return {id, start(id, a[3], a[4], json, a[6], a[7])}
end

-- id, agent ('' for any) -> {the session as it was stored, 'ended' or 'kept'}, or nil: another
-- agent's session is kept
function step.end_session(a)
  local id = a[1]
  local raw = redis.call('GET', p .. 's:' .. id)
  if not raw then return false end
  local session = cjson.decode(raw)
  if a[2] ~= '' and session['agent'] ~= a[2] then return {raw, 'kept'} end
  if session['status'] == 'ACTIVE' then
    if redis.call('HGET', p .. 'active', session['agent']) == id then
      redis.call('HDEL', p .. 'active', session['agent'])
    end
    redis.call('ZREM', p .. 'active_order', id)
  else
    redis.call('ZREM', p .. 'ended', id)
  end
  forget(id)
  return {raw, 'ended'}
end

-- customer -> that customer's sessions' JSON
function step.customer_sessions(a)
  local found = {}
  for _, id in ipairs(redis.call('SMEMBERS', p .. 'c:' .. a[1])) do
    local raw = redis.call('GET', p .. 's:' .. id)
    if raw then found[#found + 1] = raw end
  end
  return found
end

function step.all_sessions() return {read('active_order'), read('ended')} end
function step.clear_sessions() clear_sessions() end

-- max_ended, then per session: id, agent, customer, status, json
function step.replace_sessions(a)
  clear_sessions()
  for i = 2, #a, 5 do store(a[i], a[i + 1], a[i + 2], a[i + 4], a[i + 3]) end
  trim(tonumber(a[1]))
end

function step.session_count()
  return redis.call('ZCARD', p .. 'active_order') + redis.call('ZCARD', p .. 'ended')
end


-- access, json, expires (ms), reuse key suffix, refresh ('' for none), its expiry (ms)
function step.save_token(a)
  local access, raw, expires, refresh = a[1], a[2], a[3], a[5]
  redis.call('SET', p .. 't:' .. access, raw, 'PXAT', expires)
  redis.call('ZADD', p .. 'tokens', expires, access)
  redis.call('SET', p .. 'u:' .. a[4], access, 'PXAT', expires)
  if refresh ~= '' then
    redis.call('SET', p .. 'r:' .. refresh, raw, 'PXAT', a[6])
    redis.call('ZADD', p .. 'refreshes', a[6], refresh)
  end
end

-- reuse key suffix -> the reusable token's JSON or nil
function step.reusable_token(a)
  local access = redis.call('GET', p .. 'u:' .. a[1])
  if not access then return false end
  return redis.call('GET', p .. 't:' .. access)
end

-- access token
function step.remove_token(a)
  local access = a[1]
  local raw = redis.call('GET', p .. 't:' .. access)
  if raw then
    local token = cjson.decode(raw)
    if token['refresh'] ~= cjson.null then
      redis.call('DEL', p .. 'r:' .. token['refresh'])
      redis.call('ZREM', p .. 'refreshes', token['refresh'])
    end
    local reuse = reuse_key(token)
    if redis.call('GET', reuse) == access then redis.call('DEL', reuse) end
  end
  redis.call('DEL', p .. 't:' .. access)
  redis.call('ZREM', p .. 'tokens', access)
end

-- now (ms) -> how many expired tokens were dropped (their refresh tokens stay)
function step.sweep_tokens(a)
  local expired = redis.call('ZRANGEBYSCORE', p .. 'tokens', '-inf', a[1])
  for _, access in ipairs(expired) do redis.call('DEL', p .. 't:' .. access) end
  redis.call('ZREMRANGEBYSCORE', p .. 'tokens', '-inf', a[1])
  redis.call('ZREMRANGEBYSCORE', p .. 'refreshes', '-inf', a[1])
  return #expired
end

function step.token_count() return redis.call('ZCARD', p .. 'tokens') end

function step.clear_tokens()
  for _, access in ipairs(redis.call('ZRANGE', p .. 'tokens', 0, -1)) do
    local raw = redis.call('GET', p .. 't:' .. access)
    if raw then redis.call('DEL', reuse_key(cjson.decode(raw))) end
    redis.call('DEL', p .. 't:' .. access)
  end
  for _, refresh in ipairs(redis.call('ZRANGE', p .. 'refreshes', 0, -1)) do
    redis.call('DEL', p .. 'r:' .. refresh)
  end
  redis.call('DEL', p .. 'tokens', p .. 'refreshes')
end

-- now (ms), now (ISO) -> how many tokens there are. Each access token goes (it expired now);
-- its refresh token stays usable, saying it expired now.
function step.expire_tokens(a)
  local now_ms, now = tonumber(a[1]), a[2]
  local all = redis.call('ZRANGE', p .. 'tokens', 0, -1, 'WITHSCORES')
  for i = 1, #all, 2 do
    local access, expires = all[i], tonumber(all[i + 1])
    if expires > now_ms then
      local raw = redis.call('GET', p .. 't:' .. access)
      if raw then
        local token = cjson.decode(raw)
        redis.call('DEL', reuse_key(token))
        if token['refresh'] ~= cjson.null then
          token['expires'] = now
          redis.call('SET', p .. 'r:' .. token['refresh'], cjson.encode(token), 'KEEPTTL')
        end
      end
      redis.call('DEL', p .. 't:' .. access)
      redis.call('ZADD', p .. 'tokens', now_ms, access)
    end
  end
  return #all / 2
end

local function now_ms()  -- Redis's clock: replicas' clocks may differ
  local now = redis.call('TIME')
  return now[1] * 1000 + math.floor(now[2] / 1000)
end

local function mark_served(registry, tenant)  -- a named tenant, in the tenants' registry
  redis.call('ZADD', registry, now_ms(), tenant)
end

-- capacity, registry key and tenant name ('' for none), then per record: answered at (epoch us),
-- record -> how many entered. A record answered before the last clear never enters after it,
-- even when its replica ships it late. A named tenant's records mark it served again: keys
-- written after its expiry swept it (a request longer than the TTL) are swept in turn.
function step.ship_journal(a)
  if a[2] ~= '' then mark_served(a[2], a[3]) end
  -- the clear's time is kept in s (clear_journal), each record's in us
  local since = tonumber(redis.call('GET', p .. 'journal:cleared') or '0') * 1000000
  local added = 0
  for i = 4, #a, 2 do
    if tonumber(a[i]) >= since then
      redis.call('XADD', p .. 'journal', 'MAXLEN', '~', a[1], '*', 'e', a[i + 1])
      added = added + 1
    end
  end
  if added > 0 then redis.call('INCRBY', p .. 'journal:total', added) end
  return added
end

-- generation key suffix, registry key, tenant name -> the tenant's control generation; the
-- tenant marked as served now
function step.tenant_generation(a)
  mark_served(a[2], a[3])
  return redis.call('GET', p .. a[1])
end

-- registry key, idle ms, stale ms, at most -> tenants served by no replica for idle ms (oldest
-- first), then tenants whose deletion a replica claimed stale ms ago and never finished
function step.idle_tenants(a)
  local now, at_most = now_ms(), tonumber(a[4])
  local idle = redis.call('ZRANGEBYSCORE', a[1], '-inf', now - tonumber(a[2]), 'LIMIT', 0, at_most)
  local stale = redis.call('ZRANGEBYSCORE', a[1] .. ':sweeping', '-inf', now - tonumber(a[3]),
    'LIMIT', 0, at_most)
  for _, name in ipairs(stale) do idle[#idle + 1] = name end
  return idle
end

-- registry key, idle ms, stale ms, tenant -> 1 if this replica now owns its deletion: it was
-- still idle (it leaves the registry) or another replica's claim went stale; else 0 (served
-- meanwhile, or being deleted by another replica)
function step.claim_idle_tenant(a)
  local now, sweeping = now_ms(), a[1] .. ':sweeping'
  local served = redis.call('ZSCORE', a[1], a[4])
  local claimed = redis.call('ZSCORE', sweeping, a[4])
  local stale = claimed and tonumber(claimed) <= now - tonumber(a[3])
  if claimed and not stale then return 0 end
  if served then
    if tonumber(served) > now - tonumber(a[2]) then  -- served meanwhile: it stays
      if stale then redis.call('ZREM', sweeping, a[4]) end
      return 0
    end
    redis.call('ZREM', a[1], a[4])
  elseif not stale then
    return 0
  end
  redis.call('ZADD', sweeping, now, a[4])
  return 1
end

-- registry key, tenant: its deletion is done
function step.tenant_deleted(a) redis.call('ZREM', a[1] .. ':sweeping', a[2]) end

function step.clear_journal()
  local now = redis.call('TIME')
  redis.call('DEL', p .. 'journal', p .. 'journal:total')
  redis.call('SET', p .. 'journal:cleared', now[1] .. '.' .. string.format('%06d', now[2]))
end
"""

_DISPATCH = """
local answers = {}
for i, asked in ipairs(cjson.decode(ARGV[1])) do
  local name = asked[1]
  p = asked[2]
  local run = step[name]
  local ok, answer
  if asked[4] and redis.call('EXISTS', p .. asked[4]) == 0 then
    ok, answer = false, {err = 'GUARD its guard key is gone'}
  elseif run then
    ok, answer = pcall(run, asked[3])
  else
    ok, answer = false, 'no store step ' .. name
  end
  if not ok then
    answer = {err = type(answer) == 'table' and answer['err'] or tostring(answer)}
  elseif answer == nil then
    answer = false
  end
  answers[i] = answer
end
return answers
"""

STEPS_SOURCE = "\n".join((_HELPERS, _STEPS, _DISPATCH)).encode()
STEPS_SHA = hashlib.sha1(STEPS_SOURCE).hexdigest()  # as Redis names it for EVALSHA
