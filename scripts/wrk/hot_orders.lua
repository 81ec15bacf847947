-- POST /orders of 1-3 items over only 3 hot products (seeded ids 1..3, 1,000,000 in
-- stock each), quantity 1-3, for random seeded users, one in four with
-- "allow_partial": true; mixed with cancels (PATCH /orders/{id}/status to "cancelled",
-- about one request in four) of orders this thread created, read from the 201 answers.
-- Every answer is expected to be 2xx (409 OUT_OF_STOCK is documented but the stock does
-- not run out here). The response() callback this needs counts non-2xx itself.
package.path = (os.getenv("WRK_LUA_DIR") or "scripts/wrk") .. "/?.lua;" .. package.path
local common = require("common")

local users = common.env_number("SEED_USERS", 10000)
local hot = common.env_number("HOT_PRODUCTS", 3)
local max_ids = 1000  -- ids of created orders kept per thread, waiting to be cancelled
local user_prefix = os.getenv("SEED_USER_PREFIX") or "00000000-0000-4000-8000-"
local product_prefix = os.getenv("SEED_PRODUCT_PREFIX") or "00000000-0000-4000-a000-"
local json = {["Content-Type"] = "application/json"}

local ids = {}  -- this thread's created, not yet cancelled orders

-- The first "id" of {"data":{"id":"…","user_id":…,"items":[…]}} is the order's.
common.on_response = function(status, headers, body)
  if status ~= 201 or not body then return end
  local id = body:match('"id"%s*:%s*"([^"]+)"')
  if not id then return end
  if #ids < max_ids then
    ids[#ids + 1] = id
  else
    ids[math.random(1, max_ids)] = id  -- full: replace one at random
  end
end
common.install()

local function take_id()  -- removes and returns a random id of the list, or nil
  local n = #ids
  if n == 0 then return nil end
  local i = math.random(1, n)
  local id = ids[i]
  ids[i] = ids[n]
  ids[n] = nil
  return id
end

local function order()
  -- distinct products in random order: shuffle 1..hot, take the first 1-3
  local p = {}
  for i = 1, hot do p[i] = i end
  for i = hot, 2, -1 do
    local j = math.random(1, i)
    p[i], p[j] = p[j], p[i]
  end
  local items = {}
  for i = 1, math.random(1, math.min(3, hot)) do
    items[i] = string.format('{"product_id":"%s","quantity":%d,"unit_price":"9.99"}',
      common.seeded_id(product_prefix, p[i]), math.random(1, 3))
  end
  local body = string.format('{"user_id":"%s","items":[%s]%s}',
    common.seeded_id(user_prefix, math.random(1, users)), table.concat(items, ","),
    math.random(1, 4) == 1 and ',"allow_partial":true' or "")
  return wrk.format("POST", "/orders", json, body)
end

request = function()
  if math.random(1, 4) == 1 then
    local id = take_id()
    if id then
      return wrk.format("PATCH", "/orders/" .. id .. "/status", json, '{"status":"cancelled"}')
    end
  end
  return order()
end
