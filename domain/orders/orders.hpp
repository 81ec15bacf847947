// domain/orders — POST /orders (stock reserved in the same transaction), GET /orders/{id},
// PATCH /orders/{id}/status, POST /orders/status (batch), GET /users/{id}/orders.
#pragma once

#include "domain/common/services.hpp"
#include "net/router.hpp"

namespace domain {

void register_orders(net::router& r, services& svc);

}  // namespace domain
