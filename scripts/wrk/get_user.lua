-- GET /users/{id} for a random seeded user.
package.path = (os.getenv("WRK_LUA_DIR") or "scripts/wrk") .. "/?.lua;" .. package.path
local common = require("common")
common.install()

local users = common.env_number("SEED_USERS", 10000)
local prefix = os.getenv("SEED_USER_PREFIX") or "00000000-0000-4000-8000-"

request = function()
  return wrk.format("GET", "/users/" .. common.seeded_id(prefix, math.random(1, users)))
end
