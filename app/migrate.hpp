// app/migrate.hpp — versioned SQL migrations (app/migrations/NNNN_name.sql), applied in
// order, each in its own transaction, recorded in schema_migrations. Safe when several
// server processes start at once: the version row is inserted first, so a second
// process blocks on it and then skips the migration the first one applied.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <string>
#include <vector>

#include <pgcoro/connection.hpp>

namespace app {

struct migration {
    std::string name;  // file name without .sql, e.g. "0001_init"
    std::string sql;
};

const std::vector<migration>& migrations();  // generated from app/migrations/*.sql

// Applies what is missing; returns how many were applied. Throws pgcoro::error.
boost::asio::awaitable<int> migrate(pgcoro::connection& conn);

}  // namespace app
