// app/test_routes.hpp — routes for the server's own tests, registered only when
// PGCORO_TEST_ROUTES=1 (never in production): requests that stay in flight as long as a
// test needs, without a database.
#pragma once

#include "domain/common/services.hpp"
#include "net/router.hpp"

namespace app {

// GET /debug/sleep?ms=N  answers 200 {"data":{"slept_ms":N}} after N ms (0..600000).
// GET /debug/hang        never answers on its own: only the request deadline or the
//                        end of the shutdown grace period ends it (by cancellation).
// GET|POST /debug/rendezvous?key=K&n=N  answers 200 {"data":{"met":N}} once N requests
//                        for K are in flight on one worker; until then it waits (only
//                        the deadline ends it). Shows which requests run concurrently.
void register_test_routes(net::router& routes, domain::services& svc);

}  // namespace app
