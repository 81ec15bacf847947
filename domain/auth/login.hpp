// domain/auth/login.hpp — POST /sessions (log-in) and DELETE /sessions/current (log-out).
#pragma once

#include "domain/common/services.hpp"
#include "net/router.hpp"

namespace domain {

void register_sessions(net::router& r, services& svc);

}  // namespace domain
