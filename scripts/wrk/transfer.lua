-- POST /transfers of 0.01 between two random seeded accounts. 422 (overdrawn) is a
-- documented answer; balances start high enough that it should not happen.
-- With TOKENS (AUTH=required; see common.lua): from account n, owned by user n (n in
-- 1..#tokens and at most SEED_ACCOUNTS), with user n's token, to any other account
-- (a transfer from an account of another owner is answered 404). Either way the headers
-- are built once per thread at init and the body per request.
package.path = (os.getenv("WRK_LUA_DIR") or "scripts/wrk") .. "/?.lua;" .. package.path
local common = require("common")
common.expected[422] = true

local accounts = common.env_number("SEED_ACCOUNTS", 1000)
local prefix = os.getenv("SEED_ACCOUNT_PREFIX") or "00000000-0000-4000-9000-"

common.on_init = function()
  local tokens = common.tokens()
  local sources = tokens and math.min(#tokens, accounts) or accounts
  local headers = {}
  for n = 1, sources do
    headers[n] = common.auth_headers(n, {["Content-Type"] = "application/json"})
  end
  request = function()
    local from = math.random(1, sources)
    local to = math.random(1, accounts - 1)
    if to >= from then to = to + 1 end
    local body = string.format('{"from_account_id":"%s","to_account_id":"%s","amount":"0.01"}',
      common.seeded_id(prefix, from), common.seeded_id(prefix, to))
    return wrk.format("POST", "/transfers", headers[from], body)
  end
end
common.install()
