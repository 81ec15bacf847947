-- POST /transfers of 0.01 between two random seeded accounts. 422 (overdrawn) is a
-- documented answer; balances start high enough that it should not happen.
package.path = (os.getenv("WRK_LUA_DIR") or "scripts/wrk") .. "/?.lua;" .. package.path
local common = require("common")
common.expected[422] = true
common.install()

local accounts = common.env_number("SEED_ACCOUNTS", 1000)
local prefix = os.getenv("SEED_ACCOUNT_PREFIX") or "00000000-0000-4000-9000-"

request = function()
  local from = math.random(1, accounts)
  local to = math.random(1, accounts - 1)
  if to >= from then to = to + 1 end
  local body = string.format('{"from_account_id":"%s","to_account_id":"%s","amount":"0.01"}',
    common.seeded_id(prefix, from), common.seeded_id(prefix, to))
  return wrk.format("POST", "/transfers", {["Content-Type"] = "application/json"}, body)
end
