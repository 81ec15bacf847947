// app/seed.hpp — `pgcoro-server seed`: fills the database with test data for load tests,
// fast (a few set-based statements in one round trip) and idempotently.
#pragma once

#include "app/config.hpp"

namespace app {

// Adds cfg.seed's users, accounts and products; prints a one-line summary. Returns the
// process exit code.
int seed(const config& cfg);

}  // namespace app
