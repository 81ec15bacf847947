// The smallest complete program on pgcoro: a pool on an io_context, one query, one
// retried transaction. Built against the installed package by test/embed/run, once with
// find_package(pgcoro) and once with nothing but pkg-config.
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <cstdlib>
#include <iostream>
#include <pgcoro/pgcoro.hpp>
#include <pgcoro/version.hpp>
#include <string_view>

static_assert(PGCORO_VERSION ==
              PGCORO_VERSION_MAJOR * 10000 + PGCORO_VERSION_MINOR * 100 + PGCORO_VERSION_PATCH);

namespace asio = boost::asio;

int main() {
    std::cout << "pgcoro " << PGCORO_VERSION_STRING << "\n";
#ifdef PGCORO_EXPECTED_VERSION
    // The version the build found (the CMake package's, or pkg-config's) is the header's.
    if (std::string_view(PGCORO_VERSION_STRING) != PGCORO_EXPECTED_VERSION) {
        std::cerr << "pgcoro/version.hpp says " << PGCORO_VERSION_STRING << ", the package "
                  << PGCORO_EXPECTED_VERSION << "\n";
        return 1;
    }
#endif
    const char* url = std::getenv("DATABASE_URL");
    if (!url) {
        std::cerr << "set DATABASE_URL\n";
        return 2;
    }
    asio::io_context ioc;
    pgcoro::pool_options options;
    options.connection.conninfo = url;
    pgcoro::pool pool(ioc.get_executor(), options);

    int status = 1;
    asio::co_spawn(
        ioc,
        [&]() -> asio::awaitable<void> {
            auto r = co_await pool.query("SELECT $1::int + 1 AS answer", 41);
            std::cout << "answer: " << r.front().get<int>("answer") << "\n";

            auto total = co_await pool.transact([](pgcoro::transaction& tx) -> asio::awaitable<std::int64_t> {
                auto rows = co_await tx.query("SELECT count(*) FROM generate_series(1, 10)");
                co_return rows.scalar<std::int64_t>();
            });
            std::cout << "counted: " << total << "\n";
            status = (r.front().get<int>(0) == 42 && total == 10) ? 0 : 1;
            pool.close();
        },
        [&](std::exception_ptr e) {
            if (!e) return;
            try {
                std::rethrow_exception(e);
            } catch (const pgcoro::error& err) {
                std::cerr << "database error " << err.sqlstate() << ": " << err.what() << "\n";
            }
            pool.close();
        });
    ioc.run();
    return status;
}
