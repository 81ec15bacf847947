// domain/health — GET /health: a SELECT 1 through this worker's pool, answered within
// 2 s whatever the database does.
#pragma once

#include "domain/common/services.hpp"
#include "net/router.hpp"

namespace domain {

void register_health(net::router& r, services& svc);

}  // namespace domain
