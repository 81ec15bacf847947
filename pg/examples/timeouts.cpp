// pg/examples/timeouts.cpp — bounding what a statement may take: a timeout per statement,
// with_timeout around anything, and plain Asio cancellation. In each case the server
// stops the statement and the connection stays usable.
//
//   DATABASE_URL=postgresql://user@host/db ./pgcoro_example_timeouts
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_future.hpp>
#include <cstdlib>
#include <iostream>
#include <pgcoro/pgcoro.hpp>

namespace asio = boost::asio;
using namespace std::chrono_literals;

asio::awaitable<int> run(std::string url) {
    auto ex = co_await asio::this_coro::executor;
    pgcoro::pool_options options;
    options.connection.conninfo = std::move(url);
    pgcoro::pool pool(ex, options);
    int failures = 0;

    // 1. A timeout of the statement's own, and a name for the slow log and metrics.
    try {
        co_await pool.execute(pgcoro::statement::make("SELECT pg_sleep(10)").with_timeout(100ms).named("long nap"));
        ++failures;
    } catch (const pgcoro::error& e) {
        std::cout << "statement timeout: " << (e.kind() == pgcoro::errc::timeout ? "timed out" : e.what()) << "\n";
    }

    // 2. with_timeout bounds any awaitable, a whole transaction included.
    try {
        co_await pgcoro::with_timeout(pool.transact([](pgcoro::transaction& tx) -> asio::awaitable<void> {
                                          co_await tx.query("SELECT pg_sleep(10)");
                                      }),
                                      100ms);
        ++failures;
    } catch (const pgcoro::error& e) {
        std::cout << "transaction timeout: " << (e.kind() == pgcoro::errc::timeout ? "timed out" : e.what()) << "\n";
    }

    // 3. Any Asio cancellation: here the awaitable operator || cancels the statement
    //    when the timer wins the race.
    {
        using namespace asio::experimental::awaitable_operators;
        asio::steady_timer timer(ex, 100ms);
        auto winner = co_await (pool.query("SELECT pg_sleep(10)") || timer.async_wait(asio::use_awaitable));
        std::cout << "raced a timer: " << (winner.index() == 1 ? "the timer won, the statement was cancelled" : "?")
                  << "\n";
        failures += winner.index() != 1;
    }

    // The pool's connections are fine, and nothing of ours sleeps on the server any more
    // (cancel requests travel on connections of their own: give them a moment).
    std::int64_t sleeping = -1;
    asio::steady_timer pause(ex);
    for (int i = 0; i < 100 && sleeping != 0; ++i) {
        auto r = co_await pool.query(
            "SELECT count(*) FROM pg_stat_activity WHERE query = 'SELECT pg_sleep(10)' AND state = 'active'");
        sleeping = r.scalar<std::int64_t>();
        pause.expires_after(20ms);
        co_await pause.async_wait(asio::use_awaitable);
    }
    std::cout << "still sleeping on the server: " << sleeping
              << "; cancel requests sent: " << pgcoro::cancel_statistics().sent << "\n";
    // A CancelRequest stops whatever the server runs when it lands: in a pipeline that can
    // be the next statement. Outside transactions pgcoro runs such a statement again.
    std::cout << "statements run again after a cancel meant for the one before: "
              << pgcoro::cancel_statistics().rerun << "\n";
    failures += sleeping != 0;
    pool.close();
    co_return failures;
}

int main() {
    const char* url = std::getenv("DATABASE_URL");
    if (!url) {
        std::cerr << "set DATABASE_URL\n";
        return 2;
    }
    asio::io_context ioc;
    auto done = asio::co_spawn(ioc, run(url), asio::use_future);
    ioc.run();
    try {
        return done.get();
    } catch (const pgcoro::error& e) {
        std::cerr << "database error: " << e.what() << "\n";
        return 1;
    }
}
