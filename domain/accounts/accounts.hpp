// domain/accounts — POST /accounts, GET /accounts/{id}, GET /accounts/{id}/transfers.
// Transfers themselves are in transfers.hpp.
#pragma once

#include "domain/common/services.hpp"
#include "net/router.hpp"

namespace domain {

void register_accounts(net::router& r, services& svc);

}  // namespace domain
