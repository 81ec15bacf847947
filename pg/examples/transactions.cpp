// pg/examples/transactions.cpp — a pool, and money moved between two accounts by many
// coroutines at once in SERIALIZABLE transactions that retry on conflicts, with a retry
// budget shared by all of them.
//
//   DATABASE_URL=postgresql://user@host/db ./pgcoro_example_transactions
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
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
    options.max_size = 4;
    pgcoro::pool pool(ex, options);

    co_await pool.query("DROP TABLE IF EXISTS example_accounts");
    co_await pool.query("CREATE TABLE example_accounts (id int PRIMARY KEY, balance int NOT NULL CHECK (balance >= 0))");
    co_await pool.query("INSERT INTO example_accounts VALUES (1, 100), (2, 100)");

    // Retries may be at most 20% of the transactions started (plus 10 a second): past
    // that, a conflict fails fast with errc::retry_budget_exhausted instead of retrying.
    pgcoro::transaction_options tx_options;  // SERIALIZABLE by default
    tx_options.budget = std::make_shared<pgcoro::retry_budget>(0.2);

    int moved = 0, refused = 0, running = 20;
    for (int i = 0; i < 20; ++i) {
        asio::co_spawn(
            ex,
            [&, i]() -> asio::awaitable<void> {
                int from = i % 2 + 1, to = 3 - from;
                try {
                    // The body may run more than once: it only touches the database.
                    bool done = co_await pool.transact(tx_options, [&](pgcoro::transaction& tx) -> asio::awaitable<bool> {
                        auto r = co_await tx.query("SELECT balance FROM example_accounts WHERE id = $1", from);
                        if (r.scalar<std::int32_t>() < 5) co_return false;
                        // Both rows in one statement: no two transfers lock them in
                        // opposite orders, so conflicts are serialization failures
                        // (retried at once) rather than deadlocks (found after 1 s).
                        co_await tx.query("UPDATE example_accounts SET balance = balance + "
                                          "CASE WHEN id = $1 THEN -5 ELSE 5 END WHERE id IN ($1, $2)",
                                          from, to);
                        co_return true;
                    });
                    moved += done;
                } catch (const pgcoro::error& e) {
                    ++refused;  // retry_budget_exhausted, or retry_exhausted after max_attempts
                    std::cerr << "transfer " << i << " not done: " << e.what() << "\n";
                }
                --running;
            },
            asio::detached);
    }
    asio::steady_timer t(ex);
    while (running > 0) {  // a program would rather await a channel or a counter
        t.expires_after(5ms);
        co_await t.async_wait(asio::use_awaitable);
    }
    auto total = co_await pool.query("SELECT sum(balance)::int8 FROM example_accounts");
    auto s = pool.tx_stats();
    std::cout << "moved " << moved << ", refused " << refused << ", total " << total.scalar<std::int64_t>()
              << " (retries: " << s.retries_serialization << " serialization, " << s.retries_deadlock
              << " deadlock)\n";
    co_await pool.query("DROP TABLE example_accounts");
    pool.close();
    co_return total.scalar<std::int64_t>() == 200 ? 0 : 1;  // money is neither lost nor made up
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
