-- POST /orders for a random seeded user with 1-3 random seeded products (ample stock).
package.path = (os.getenv("WRK_LUA_DIR") or "scripts/wrk") .. "/?.lua;" .. package.path
local common = require("common")
common.install()

local users = common.env_number("SEED_USERS", 10000)
local products = common.env_number("SEED_PRODUCTS", 1000)
local user_prefix = os.getenv("SEED_USER_PREFIX") or "00000000-0000-4000-8000-"
local product_prefix = os.getenv("SEED_PRODUCT_PREFIX") or "00000000-0000-4000-a000-"

request = function()
  local items = {}
  for i = 1, math.random(1, 3) do
    items[i] = string.format('{"product_id":"%s","quantity":%d,"unit_price":"9.99"}',
      common.seeded_id(product_prefix, math.random(1, products)), math.random(1, 3))
  end
  local body = string.format('{"user_id":"%s","items":[%s]}',
    common.seeded_id(user_prefix, math.random(1, users)), table.concat(items, ","))
  return wrk.format("POST", "/orders", {["Content-Type"] = "application/json"}, body)
end
