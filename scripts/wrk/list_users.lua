-- GET /users?limit=20 (the first page of the keyset pagination).
package.path = (os.getenv("WRK_LUA_DIR") or "scripts/wrk") .. "/?.lua;" .. package.path
local common = require("common")
common.install()

request = function()
  return wrk.format("GET", "/users?limit=20")
end
