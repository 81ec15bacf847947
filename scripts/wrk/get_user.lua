-- GET /users/{id} for a random seeded user.
-- With TOKENS (AUTH=required; see common.lua): user n in 1..#tokens reads themselves
-- (GET /users/<user n> with user n's token: a user may read no one else). Either way the
-- requests are built once per thread at init, so a request costs Lua one table lookup
-- (and the two runs cost wrk the same).
package.path = (os.getenv("WRK_LUA_DIR") or "scripts/wrk") .. "/?.lua;" .. package.path
local common = require("common")

local users = common.env_number("SEED_USERS", 10000)
local prefix = os.getenv("SEED_USER_PREFIX") or "00000000-0000-4000-8000-"

common.on_init = function()
  local tokens = common.tokens()
  local requests = {}
  for n = 1, tokens and math.min(#tokens, users) or users do
    requests[n] = wrk.format("GET", "/users/" .. common.seeded_id(prefix, n), common.auth_headers(n))
  end
  local count = #requests
  local random = math.random
  request = function()
    return requests[random(1, count)]
  end
end
common.install()
