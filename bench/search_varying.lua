-- wrk script: GET /customers/search with a (query, page) pair no request asked before, so a
-- server that memoizes answers must search every time.
-- Usage: wrk ... -s bench/search_varying.lua http://127.0.0.1:PORT -- <path prefix> <bearer token>

local prefix, auth = "", "Bearer x"
local queries = { "a", "we", "mar", "son", "lin", "example", "ber", "an", "mu", "ch", "wolf", "e" }
local n = 0

function init(args)
  prefix = args[1] or ""
  auth = "Bearer " .. (args[2] or "x")
end

function request()
  n = n + 1
  local query = queries[(n % #queries) + 1]
  local page = math.floor(n / #queries)
  local path = prefix .. "/customers/search?query=" .. query
    .. "&baseSite=electronics-spa&currentPage=" .. page
  return wrk.format("GET", path, { ["Authorization"] = auth })
end
