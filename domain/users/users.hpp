// domain/users — POST/GET/PATCH/DELETE /users, keyset pagination and search.
#pragma once

#include "domain/common/services.hpp"
#include "net/router.hpp"

namespace domain {

void register_users(net::router& r, services& svc);

}  // namespace domain
