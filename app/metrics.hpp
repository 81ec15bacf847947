// app/metrics.hpp — the database's share of GET /metrics: the pgcoro pools' gauges and
// counters and the transaction retry counters, summed over the per-worker pools. Lives
// in app/ because it is where net/ (the registry) and pg/ (the numbers) may meet.
#pragma once

#include "domain/common/services.hpp"
#include "net/metrics.hpp"

namespace app {

// `svc` must outlive the registry's last render.
void register_database_metrics(net::metrics& registry, const domain::services& svc);

}  // namespace app
