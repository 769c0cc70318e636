"""The Lua scripts of the Redis store: each one atomic step of the store protocols, so two
replicas can never interleave inside one (the one-ACTIVE-session-per-agent rule holds under
concurrent starts). Every script takes the namespace's key prefix as ARGV[1].

Keys under the prefix: `s:ID` a session's JSON; `active` agent -> ACTIVE session id; `active_order`
/ `ended` ids by order; `c:CUSTOMER` that customer's session ids; `order` the counter of both
orders; `number` next_session_number's counter. Tokens: `t:ACCESS` and `r:REFRESH` the token's
JSON, `u:CLIENT\\0USER\\0SCOPES` the reusable access token, `tokens` / `refreshes` what exists,
scored by expiry (ms).
"""

from __future__ import annotations

from typing import Any, cast

from redis.commands.core import AsyncScript

__all__ = [
    "ALL_SESSIONS",
    "CLEAR_SESSIONS",
    "CLEAR_TOKENS",
    "CUSTOMER_SESSIONS",
    "END_SESSION",
    "EXPIRE_TOKENS",
    "REMOVE_TOKEN",
    "REPLACE_SESSIONS",
    "REUSABLE_TOKEN",
    "START_SESSION",
    "SWEEP_TOKENS",
]

_SESSION_HELPERS = """
local p = ARGV[1]
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
local function clear()
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
"""

# ARGV: prefix, id, agent, customer, json, ended_at (ISO), max_ended -> the ended session or nil
_START = """
local id, agent, customer, json, now = ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6]
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
    trim(tonumber(ARGV[7]))
  end
end
store(id, agent, customer, json, 'ACTIVE')
return ended
"""

# ARGV: prefix, id -> the session as it was stored, or nil
_END = """
local id = ARGV[2]
local raw = redis.call('GET', p .. 's:' .. id)
if not raw then return false end
local session = cjson.decode(raw)
if session['status'] == 'ACTIVE' then
  if redis.call('HGET', p .. 'active', session['agent']) == id then
    redis.call('HDEL', p .. 'active', session['agent'])
  end
  redis.call('ZREM', p .. 'active_order', id)
else
  redis.call('ZREM', p .. 'ended', id)
end
forget(id)
return raw
"""

_CUSTOMER = """
local found = {}
for _, id in ipairs(redis.call('SMEMBERS', p .. 'c:' .. ARGV[2])) do
  local raw = redis.call('GET', p .. 's:' .. id)
  if raw then found[#found + 1] = raw end
end
return found
"""

_ALL = "return {read('active_order'), read('ended')}"

_CLEAR = "clear()"

# ARGV: prefix, max_ended, then per session: id, agent, customer, status, json
_REPLACE = """
clear()
for i = 3, #ARGV, 5 do store(ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 4], ARGV[i + 3]) end
trim(tonumber(ARGV[2]))
"""

_TOKEN_HELPERS = """
local p = ARGV[1]
local function reuse_key(token)
  local user = token['user'] == cjson.null and '-' or ('+' .. token['user'])
  local scopes = table.concat(token['scopes'], ' ')
  return p .. 'u:' .. token['client'] .. '\\0' .. user .. '\\0' .. scopes
end
"""

# ARGV: prefix, reuse key suffix -> the reusable token's JSON or nil
_REUSABLE = """
local access = redis.call('GET', p .. 'u:' .. ARGV[2])
if not access then return false end
return redis.call('GET', p .. 't:' .. access)
"""

# ARGV: prefix, access token
_REMOVE = """
local access = ARGV[2]
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
"""

# ARGV: prefix, now (ms) -> how many expired tokens were dropped (their refresh tokens stay)
_SWEEP = """
local expired = redis.call('ZRANGEBYSCORE', p .. 'tokens', '-inf', ARGV[2])
for _, access in ipairs(expired) do redis.call('DEL', p .. 't:' .. access) end
redis.call('ZREMRANGEBYSCORE', p .. 'tokens', '-inf', ARGV[2])
redis.call('ZREMRANGEBYSCORE', p .. 'refreshes', '-inf', ARGV[2])
return #expired
"""

_CLEAR_TOKENS = """
for _, access in ipairs(redis.call('ZRANGE', p .. 'tokens', 0, -1)) do
  local raw = redis.call('GET', p .. 't:' .. access)
  if raw then redis.call('DEL', reuse_key(cjson.decode(raw))) end
  redis.call('DEL', p .. 't:' .. access)
end
for _, refresh in ipairs(redis.call('ZRANGE', p .. 'refreshes', 0, -1)) do
  redis.call('DEL', p .. 'r:' .. refresh)
end
redis.call('DEL', p .. 'tokens', p .. 'refreshes')
"""

# ARGV: prefix, now (ms), now (ISO) -> how many tokens there are. Each access token goes (it
# expired now); its refresh token stays usable, saying it expired now.
_EXPIRE = """
local now_ms, now = tonumber(ARGV[2]), ARGV[3]
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
"""


def _script(*parts: str) -> AsyncScript:
    # bytes, so no client's encoder is needed: each call names the client of its event loop
    return AsyncScript(cast(Any, None), "\n".join(parts).encode())


START_SESSION = _script(_SESSION_HELPERS, _START)
END_SESSION = _script(_SESSION_HELPERS, _END)
CUSTOMER_SESSIONS = _script(_SESSION_HELPERS, _CUSTOMER)
ALL_SESSIONS = _script(_SESSION_HELPERS, _ALL)
CLEAR_SESSIONS = _script(_SESSION_HELPERS, _CLEAR)
REPLACE_SESSIONS = _script(_SESSION_HELPERS, _REPLACE)
REUSABLE_TOKEN = _script(_TOKEN_HELPERS, _REUSABLE)
REMOVE_TOKEN = _script(_TOKEN_HELPERS, _REMOVE)
SWEEP_TOKENS = _script(_TOKEN_HELPERS, _SWEEP)
CLEAR_TOKENS = _script(_TOKEN_HELPERS, _CLEAR_TOKENS)
EXPIRE_TOKENS = _script(_TOKEN_HELPERS, _EXPIRE)
