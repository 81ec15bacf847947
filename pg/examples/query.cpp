// pg/examples/query.cpp — the smallest program: one connection, one query, rows read as
// a struct.
//
//   DATABASE_URL=postgresql://user@host/db ./pgcoro_example_query
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <cstdlib>
#include <iostream>
#include <pgcoro/pgcoro.hpp>

namespace asio = boost::asio;

struct series_row {
    std::int32_t n;
    std::string square;              // any column can be read as text
    std::optional<std::string> note; // NULL reads as nullopt
};

asio::awaitable<int> run(std::string url) {
    pgcoro::connect_options options;
    options.conninfo = std::move(url);
    auto conn = co_await pgcoro::connection::connect(co_await asio::this_coro::executor, options);

    // Parameters are bound ($1, $2...), never pasted into the SQL text.
    auto rows = co_await conn.query(
        "SELECT n, (n * n)::text, CASE WHEN n = 2 THEN 'even prime' END FROM generate_series(1, $1::int) n", 3);
    for (const auto& r : rows.as<series_row>())
        std::cout << r.n << "² = " << r.square << (r.note ? " (" + *r.note + ")" : "") << "\n";
    co_return rows.size() == 3 ? 0 : 1;
}

int main() {
    const char* url = std::getenv("DATABASE_URL");
    if (!url) {
        std::cerr << "set DATABASE_URL\n";
        return 2;
    }
    asio::io_context ioc;
    auto done = asio::co_spawn(ioc, run(url), asio::use_future);
    ioc.run();  // returns once the coroutine is done and the connection closed
    try {
        return done.get();
    } catch (const pgcoro::error& e) {
        std::cerr << "database error: " << e.what() << "\n";
        return 1;
    }
}
