-- Shared by the wrk scenarios: counts answers by class across wrk's threads and prints
-- one machine-readable RESULT line that scripts/bench parses.
--
-- A scenario with no expected 4xx counts non-2xx answers with wrk's own counter
-- (summary.errors.status: every status >= 400; this API sends no 1xx or 3xx) and
-- installs no response() callback: wrk then does not hand each response to Lua, which
-- costs wrk ~2 µs per response, CPU the server under test would otherwise get.
-- A scenario that needs the answers (e.g. to read the ids it created) sets
-- M.on_response(status, headers, body) before install(): every answer then goes
-- through M.response, which counts non-2xx itself, and done() no longer adds wrk's own
-- counter (that would count them twice).
--
-- Authentication (AUTH=required): with TOKENS naming a file of session tokens, line n the
-- token of seeded user n (`pgcoro-server seed ... --tokens FILE`), M.tokens() gives them
-- and M.auth_headers(n, headers) adds user n's `Authorization: Bearer`. Without TOKENS
-- (unset or empty) M.tokens() is nil and the scenarios send what they always sent.
-- A scenario prepares per thread in M.on_init(args), called from wrk's init().
local M = {}

local threads = {}

-- Statuses a scenario documents as expected (e.g. 422 for an overdrawn transfer) are
-- counted apart from unexpected non-2xx answers.
M.expected = {}

-- Optional per-scenario callback, called after M.response has counted the answer.
M.on_response = nil

-- Optional per-scenario callback, called at the end of each thread's init(args): where a
-- scenario builds what it can once per thread (wrk runs each thread's Lua apart).
M.on_init = nil

function M.setup(thread)
  table.insert(threads, thread)
  thread:set("thread_id", #threads)  -- distinct per thread: all threads share one random seed
end

function M.init(args)
  math.randomseed(os.time() * 100 + (thread_id or 0))
  non2xx = 0
  expected4xx = 0
  if M.on_init then M.on_init(args) end
end

function M.response(status)
  if status < 200 or status >= 300 then
    if M.expected[status] then expected4xx = expected4xx + 1 else non2xx = non2xx + 1 end
  end
end

function M.done(summary, latency)
  local bad, expected = 0, 0
  if not next(M.expected) and not M.on_response then bad = summary.errors.status end
  for _, t in ipairs(threads) do
    bad = bad + (t:get("non2xx") or 0)
    expected = expected + (t:get("expected4xx") or 0)
  end
  local seconds = summary.duration / 1e6
  io.write(string.format(
    "RESULT req_s=%.1f p50_ms=%.3f p99_ms=%.3f non2xx=%d expected4xx=%d socket_errors=%d requests=%d\n",
    summary.requests / seconds, latency:percentile(50) / 1000, latency:percentile(99) / 1000, bad, expected,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout, summary.requests))
end

-- Seeded ids are derived from a sequence number (see app/seed.cpp), so every thread can
-- pick existing rows without reading a file.
function M.seeded_id(prefix, n)
  return string.format("%s%012d", prefix, n)
end

function M.env_number(name, default)
  return tonumber(os.getenv(name) or "") or default
end

-- The tokens of the file TOKENS names (line n: user n's), read once per thread (each
-- wrk thread has a Lua state of its own, so this cache is per thread); nil when TOKENS
-- is unset or empty. A missing or empty file, or an empty line, stops wrk.
local tokens  -- nil: not read yet; false: no TOKENS
function M.tokens()
  if tokens == nil then
    local path = os.getenv("TOKENS")
    if not path or path == "" then
      tokens = false
    else
      local f, err = io.open(path, "r")
      if not f then error("TOKENS: " .. err) end
      local list = {}
      for line in f:lines() do
        line = line:gsub("%s+$", "")  -- a \r of a file edited elsewhere
        if line == "" then error("TOKENS: line " .. (#list + 1) .. " of " .. path .. " is empty") end
        list[#list + 1] = line
      end
      f:close()
      if #list == 0 then error("TOKENS: no token in " .. path) end
      tokens = list
    end
  end
  return tokens or nil
end

-- headers (a table, or nil) with user n's token added as a new table; headers itself is
-- left as it was. Without TOKENS: headers as given. Meant for building requests once
-- (per thread, in M.on_init), not per request.
function M.auth_headers(n, headers)
  local list = M.tokens()
  if not list then return headers end
  local token = list[n]
  if not token then error(string.format("TOKENS: no token for user %d (the file has %d)", n, #list)) end
  local out = {}
  for k, v in pairs(headers or {}) do out[k] = v end
  out["Authorization"] = "Bearer " .. token
  return out
end

-- Installs the shared callbacks as wrk's globals.
function M.install()
  setup = M.setup
  init = M.init
  if M.on_response then
    response = function(status, headers, body)
      M.response(status)
      M.on_response(status, headers, body)
    end
  elseif next(M.expected) then
    response = M.response
  end
  done = M.done
end

math.randomseed(os.time())
return M
