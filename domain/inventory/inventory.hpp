// domain/inventory — PUT/GET /inventory/{product_id}: a product's stock on hand.
#pragma once

#include "domain/common/services.hpp"
#include "net/router.hpp"

namespace domain {

void register_inventory(net::router& r, services& svc);

}  // namespace domain
