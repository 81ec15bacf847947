-- POST /users with a fresh email each time (run the server with PASSWORD_HASH_COST=min
-- to measure the server rather than Argon2id).
package.path = (os.getenv("WRK_LUA_DIR") or "scripts/wrk") .. "/?.lua;" .. package.path
local common = require("common")
common.install()

local counter = 0
local run = string.format("%x%x", os.time(), math.random(1, 1e9))

request = function()
  counter = counter + 1
  local tag = string.format("%s-%d-%d", run, thread_id or 0, counter)
  local body = string.format('{"email":"bench-%s@example.com","username":"bench-%s","password":"benchmark-pw"}', tag, tag)
  return wrk.format("POST", "/users", {["Content-Type"] = "application/json"}, body)
end
