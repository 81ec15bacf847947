// domain/orders/order_status — the order status machine (pending → confirmed | cancelled,
// confirmed → shipped | cancelled, shipped → delivered) and its two routes:
// PATCH /orders/{id}/status and POST /orders/status (a batch, all or nothing).
// Cancelling returns the items' stock in the same transaction.
#pragma once

#include "domain/common/services.hpp"
#include "net/router.hpp"

namespace domain {

void register_order_status(net::router& r, services& svc);

}  // namespace domain
