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
local M = {}

local threads = {}

-- Statuses a scenario documents as expected (e.g. 422 for an overdrawn transfer) are
-- counted apart from unexpected non-2xx answers.
M.expected = {}

-- Optional per-scenario callback, called after M.response has counted the answer.
M.on_response = nil

function M.setup(thread)
  table.insert(threads, thread)
  thread:set("thread_id", #threads)  -- distinct per thread: all threads share one random seed
end

function M.init()
  math.randomseed(os.time() * 100 + (thread_id or 0))
  non2xx = 0
  expected4xx = 0
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
