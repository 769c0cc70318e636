-- wrk script: cycle POST /sessions -> GET /sessions/{id} -> DELETE /sessions/{id}.
-- Usage: wrk ... -s bench/session_cycle.lua http://127.0.0.1:PORT -- <path prefix> <bearer token>
--
-- wrk's response() does not say which request (or connection) it answers, so the cycle is kept
-- by session id: a 201 carries a new id (queue a GET), a 200 for an id with a GET in flight
-- queues its DELETE. With unique ids (asm-mock) every id is created, read and ended exactly
-- once; with a static example id (Prism: "string") the counts still keep POST:GET:DELETE at 1:1:1.

local prefix, auth = "", "Bearer x"
local body = '{"customerId":"james.weber@example.com","baseSite":"electronics-spa"}'
local to_get, to_delete = {}, {}
local gets_in_flight = {}
local threads = {}
sent = { POST = 0, GET = 0, DELETE = 0 } -- global: done() reads it through thread:get()

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  prefix = args[1] or ""
  auth = "Bearer " .. (args[2] or "x")
end

local function session_id(text)
  return text and string.match(text, '"sessionId"%s*:%s*"([^"]+)"')
end

function request()
  local headers = { ["Authorization"] = auth }
  local id = table.remove(to_delete)
  if id then
    sent.DELETE = sent.DELETE + 1
    return wrk.format("DELETE", prefix .. "/sessions/" .. id, headers)
  end
  id = table.remove(to_get)
  if id then
    gets_in_flight[id] = (gets_in_flight[id] or 0) + 1
    sent.GET = sent.GET + 1
    return wrk.format("GET", prefix .. "/sessions/" .. id, headers)
  end
  headers["Content-Type"] = "application/json"
  sent.POST = sent.POST + 1
  return wrk.format("POST", prefix .. "/sessions", headers, body)
end

function response(status, headers, text)
  local id = session_id(text)
  if not id then
    return
  end
  if status == 201 then
    table.insert(to_get, id)
  elseif status == 200 and (gets_in_flight[id] or 0) > 0 then
    gets_in_flight[id] = gets_in_flight[id] - 1
    if gets_in_flight[id] == 0 then
      gets_in_flight[id] = nil
    end
    table.insert(to_delete, id)
  end
end

function done(summary, latency, requests)
  local totals = { POST = 0, GET = 0, DELETE = 0 }
  for _, thread in ipairs(threads) do
    local counts = thread:get("sent")
    for method, n in pairs(counts) do
      totals[method] = totals[method] + n
    end
  end
  io.write(string.format("Session requests sent: POST %d, GET %d, DELETE %d\n",
    totals.POST, totals.GET, totals.DELETE))
end
