-- GET /health (a SELECT 1 through the pool, no table).
package.path = (os.getenv("WRK_LUA_DIR") or "scripts/wrk") .. "/?.lua;" .. package.path
local common = require("common")
common.install()

request = function()
  return wrk.format("GET", "/health")
end
