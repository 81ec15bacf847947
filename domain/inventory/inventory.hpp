// domain/inventory — PUT/GET /inventory/{product_id}: a product's stock on hand.
#pragma once

#include "domain/common/services.hpp"
#include "net/router.hpp"

namespace domain {

void register_inventory(net::router& r, services& svc);

// The batcher GET /inventory/{product_id} uses on `pool`'s worker (services::lookups):
// the inventory rows among the product ids asked for in one loop turn, in one statement.
std::unique_ptr<pgcoro::lookup_batcher> make_inventory_lookup(pgcoro::pool& pool);

}  // namespace domain
