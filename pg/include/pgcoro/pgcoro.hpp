// pgcoro/pgcoro.hpp — the umbrella header of the async PostgreSQL layer.
#pragma once

#include "pgcoro/connection.hpp"
#include "pgcoro/error.hpp"
#include "pgcoro/lookup_batcher.hpp"
#include "pgcoro/options.hpp"
#include "pgcoro/pool.hpp"
#include "pgcoro/result.hpp"
#include "pgcoro/timeout.hpp"
#include "pgcoro/transaction.hpp"
#include "pgcoro/types.hpp"
