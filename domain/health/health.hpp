// domain/health — GET /health. It never waits behind application work: while the pools'
// connections answered within the last second (and none broke since), the database is
// up without asking it; otherwise a probe on a connection of its own (database_probe)
// decides, within 1.5 s. While the server drains for shutdown: 503 "draining".
#pragma once

#include "domain/common/services.hpp"
#include "net/router.hpp"

namespace domain {

void register_health(net::router& r, services& svc);

}  // namespace domain
