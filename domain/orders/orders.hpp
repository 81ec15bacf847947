// domain/orders — POST /orders (stock reserved in the same transaction), GET /orders/{id},
// GET /users/{id}/orders (orders.cpp); PATCH /orders/{id}/status and POST /orders/status
// (order_status.cpp).
#pragma once

#include <boost/json/array.hpp>
#include <pgcoro/result.hpp>
#include <pgcoro/transaction.hpp>
#include <string>

#include "domain/common/services.hpp"
#include "net/router.hpp"

namespace domain {

// All five routes.
void register_orders(net::router& r, services& svc);

// Shared by the order files (orders.cpp defines them):
// READ COMMITTED with explicit locks, for every transaction that changes orders or stock
// (the reasoning is in orders.cpp).
const pgcoro::transaction_options& order_locking_tx();
// The order $1 with its items, one row per item; and their JSON (an array of orders).
const std::string& sql_order_by_id();
boost::json::array orders_with_items_json(const pgcoro::result& r);
[[noreturn]] void order_not_found();

}  // namespace domain
